#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that the project's citations of its contract resolve.

    check_contract_refs.py [--strict] [SOURCE_DIR]
    check_contract_refs.py --self-test

Code and documents cite the behaviour contract by section, as
`docs/contract.md, "Lifetime"` (the comma is optional; the quoted title may
start on the next line of a comment), or link to it as
`contract.md#lifetime`; docs/contract.md links to its own sections as
`(#lifetime)`.  Each cited title must be a heading of docs/contract.md and
each anchor the anchor of one, so that renaming a section breaks this check
rather than the citations.

--strict also fails on references to documents outside the repository (the
starting brief and style guide the project began from).  Exit status 0 when
every citation resolves, 1 with one line per broken one.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONTRACT_DOC = os.path.join("docs", "contract.md")

CITE = re.compile(r'docs/contract\.md,?(?:[\s*#/-]|--)*["“]([^"”]{1,80})["”]')
LINK = re.compile(r'contract\.md#([\w-]+)')
SELF_LINK = re.compile(r'\]\(#([\w-]+)\)')
# The starting brief and style guide live outside the repository; the
# brief's name is assembled here so that this file does not cite it itself.
BRIEF = "CON" + "TRACT"
STYLE = "STYLE" + ".md"
OUTSIDE = re.compile(r'\b%s\b|\b%s\.md\b|\b%s\b|\.\./%s/|\b%s/(?:%s|STYLE)'
                     % (BRIEF, BRIEF, re.escape(STYLE), "shared", "shared", BRIEF))


def slug(title: str) -> str:
    """The anchor GitHub and most Markdown renderers give a heading."""
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def headings(root: str) -> list[str]:
    with open(os.path.join(root, CONTRACT_DOC), encoding="utf-8") as f:
        return [m.group(1).strip() for m in re.finditer(r"(?m)^#{2,4} (.+)$", f.read())]


def files(root: str) -> list[str]:
    try:
        p = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=False)
        if p.returncode == 0 and p.stdout:
            return [f for f in p.stdout.decode().split("\0") if f]
    except OSError:
        pass
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "build")) and d != "corpus"]
        out += [os.path.relpath(os.path.join(dirpath, f), root) for f in filenames]
    return out


def check(root: str, strict: bool) -> list[str]:
    titles = headings(root)
    anchors = {slug(t) for t in titles}
    bad = []
    for rel in files(root):
        path = os.path.join(root, rel)
        if not os.path.isfile(path) or rel.startswith("tests/build/"):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        line = lambda pos: text.count("\n", 0, pos) + 1  # noqa: E731
        for m in CITE.finditer(text):
            title = " ".join(m.group(1).split())   # a title may wrap in Markdown
            if title not in titles:
                bad.append(f"{rel}:{line(m.start())}: no section \"{title}\" in {CONTRACT_DOC}")
        for m in LINK.finditer(text):
            if m.group(1) not in anchors:
                bad.append(f"{rel}:{line(m.start())}: no anchor #{m.group(1)} in {CONTRACT_DOC}")
        if rel == CONTRACT_DOC:
            for m in SELF_LINK.finditer(text):
                if m.group(1) not in anchors:
                    bad.append(f"{rel}:{line(m.start())}: no anchor #{m.group(1)}")
        # The license's legal text says "ACTION OF" + the brief's word: not a citation.
        if strict and not os.path.basename(rel).startswith("LICENSE"):
            for m in OUTSIDE.finditer(text):
                bad.append(f"{rel}:{line(m.start())}: cites {m.group(0)}, which is not in the "
                           f"repository (cite {CONTRACT_DOC} instead)")
    return bad


def self_test() -> int:
    good = {
        CONTRACT_DOC: "# c\n\n## Lifetime\n\n## Release arithmetic\n\nSee [Lifetime](#lifetime).\n",
        "a.c": '/* freed later (docs/contract.md, "Lifetime"). */\n'
               '/* checked first (docs/contract.md,\n * "Release arithmetic") */\n',
        "b.md": "[the rule](contract.md#release-arithmetic); threads::shared is fine;\n"
                "(docs/contract.md, \"Release\narithmetic\") wraps\n",
    }
    broken = {
        "c.c": ('/* (docs/contract.md, "Token conservation") */\n', False),
        "d.md": ("[x](contract.md#token-conservation)\n", False),
        CONTRACT_DOC: (good[CONTRACT_DOC] + "[y](#close)\n", False),
        "e.py": ('# (%s "Fairness")\n' % BRIEF, True),
        "f.md": ("the Lua section of `%s/%s.md`\n" % ("shared", BRIEF), True),
        "g.i": ("(%s, SWIG)\n" % STYLE, True),
    }
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        for rel, text in good.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)
        if check(root, True):
            print("self-test: a clean tree was refused:", *check(root, True), sep="\n  ")
            failures += 1
    for rel, (text, strict_only) in broken.items():
        with tempfile.TemporaryDirectory() as root:
            for r, t in {**good, rel: text}.items():
                os.makedirs(os.path.dirname(os.path.join(root, r)) or root, exist_ok=True)
                with open(os.path.join(root, r), "w", encoding="utf-8") as f:
                    f.write(t)
            found = any(b.startswith(rel + ":") for b in check(root, True))
            plain = any(b.startswith(rel + ":") for b in check(root, False))
            if not found or plain == strict_only:
                print(f"self-test: {rel}: found {found}, without --strict {plain}")
                failures += 1
    print(f"self-test: {len(broken) + 1 - failures} of {len(broken) + 1} cases as expected")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    args = argv[1:]
    if args == ["--self-test"]:
        return self_test()
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    root = args[0] if args else ROOT
    bad = check(root, strict)
    for b in bad:
        print(f"check_contract_refs: {b}")
    if not bad:
        print(f"check_contract_refs: every citation of {CONTRACT_DOC} resolves")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
