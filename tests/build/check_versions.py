#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that every package of qsem carries the version of csrc/qsem_version.h.

    check_versions.py [SOURCE_DIR]    check the tree (default: this repository)
    check_versions.py --self-test     check that the checker catches a drift

csrc/qsem_version.h is the one place the version is written.  CMake,
setup.py, the Ruby gemspec, the Perl dist and the Tcl package read it from
there at build time; the formats that cannot (a pom, a package.json and its
lock file, a rockspec's name and fields) repeat it, and this check keeps
them equal.  CHANGELOG.md must describe the version as its newest release.
Exit status 0 when all agree, 1 with one line per disagreement.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def header_version(root: str) -> str:
    with open(os.path.join(root, "csrc", "qsem_version.h"), encoding="utf-8") as f:
        text = f.read()
    parts = {k: re.search(r"#define QSEM_VERSION_%s (\d+)" % k, text) for k in ("MAJOR", "MINOR", "PATCH")}
    string = re.search(r'#define QSEM_VERSION_STRING "([^"]+)"', text)
    if string is None or None in parts.values():
        raise SystemExit("check_versions: csrc/qsem_version.h has no complete version")
    dotted = ".".join(parts[k].group(1) for k in ("MAJOR", "MINOR", "PATCH"))
    if dotted != string.group(1):
        raise SystemExit(f"check_versions: QSEM_VERSION_STRING {string.group(1)} != {dotted}")
    return dotted


def pom(root: str) -> list[tuple[str, str]]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    tree = ET.parse(os.path.join(root, "bindings", "java", "pom.xml"))
    v = tree.getroot().find("m:version", ns)
    return [("bindings/java/pom.xml <version>", v.text if v is not None else "(none)")]


def node(root: str) -> list[tuple[str, str]]:
    found = []
    with open(os.path.join(root, "bindings", "node", "package.json"), encoding="utf-8") as f:
        found.append(("bindings/node/package.json", json.load(f).get("version", "(none)")))
    with open(os.path.join(root, "bindings", "node", "package-lock.json"), encoding="utf-8") as f:
        lock = json.load(f)
    found.append(("bindings/node/package-lock.json", lock.get("version", "(none)")))
    found.append(('bindings/node/package-lock.json packages[""]',
                  lock.get("packages", {}).get("", {}).get("version", "(none)")))
    return found


def rockspec(root: str, want: str) -> list[tuple[str, str]]:
    lua = os.path.join(root, "bindings", "lua")
    specs = sorted(f for f in os.listdir(lua) if f.endswith(".rockspec"))
    found = [("bindings/lua/*.rockspec file name", ",".join(specs) or "(none)")]
    want_name = f"qsem-{want}-1.rockspec"
    if specs == [want_name]:
        found[0] = (found[0][0], want)
        with open(os.path.join(lua, want_name), encoding="utf-8") as f:
            text = f.read()
        v = re.search(r'^version\s*=\s*"([^"]+)-\d+"', text, re.M)
        found.append((f"bindings/lua/{want_name} version", v.group(1) if v else "(none)"))
        tag = re.search(r'^\s*tag\s*=\s*"v([^"]+)"', text, re.M)
        if tag:
            found.append((f"bindings/lua/{want_name} source.tag", tag.group(1)))
    return found


def changelog(root: str) -> list[tuple[str, str]]:
    with open(os.path.join(root, "CHANGELOG.md"), encoding="utf-8") as f:
        releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", f.read(), re.M)
    return [("CHANGELOG.md newest release", releases[0] if releases else "(none)")]


def license_copies(root: str) -> list[str]:
    """A Go module is its directory, with no packing step to copy the license
    in, so bindings/go carries a copy of LICENSE: it must stay the same."""
    with open(os.path.join(root, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    bad = []
    for rel in ("bindings/go/LICENSE",):
        path = os.path.join(root, rel)
        if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
            bad.append(f"check_versions: {rel} is not a copy of LICENSE")
    return bad


def check(root: str) -> list[str]:
    want = header_version(root)
    found = pom(root) + node(root) + rockspec(root, want) + changelog(root)
    return [f"check_versions: {where} says {got}, csrc/qsem_version.h says {want}"
            for where, got in found if got != want] + license_copies(root)


def self_test() -> int:
    """A copy of the tree with the pom drifted must fail; the tree must pass."""
    if check(ROOT):
        print("self-test: the tree itself disagrees; run without --self-test")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for rel in ("csrc", "bindings/java", "bindings/node", "bindings/lua", "bindings/go"):
            shutil.copytree(os.path.join(ROOT, rel), os.path.join(tmp, rel),
                            ignore=shutil.ignore_patterns("node_modules", "target"))
        shutil.copy(os.path.join(ROOT, "CHANGELOG.md"), tmp)
        shutil.copy(os.path.join(ROOT, "LICENSE"), tmp)
        pom_path = os.path.join(tmp, "bindings", "java", "pom.xml")
        with open(pom_path, encoding="utf-8") as f:
            text = f.read()
        with open(pom_path, "w", encoding="utf-8") as f:
            f.write(re.sub(r"(<artifactId>qsem</artifactId>\s*<version>)[^<]+", r"\g<1>9.9.9", text, count=1))
        if not any("pom.xml" in e for e in check(tmp)):
            print("self-test: a drifted pom.xml was not caught")
            return 1
    print("check_versions self-test: ok")
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        return self_test()
    errors = check(argv[1] if len(argv) > 1 else ROOT)
    for e in errors:
        print(e)
    if not errors:
        print(f"check_versions: every package says {header_version(argv[1] if len(argv) > 1 else ROOT)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
