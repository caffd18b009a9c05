#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that every build compiles the core as one unit, csrc/qsem_all.c.

    check_one_unit.py [SOURCE_DIR]      check the tree (default: this repository)
    check_one_unit.py --self-test       check that the checker catches planted defects

csrc/qsem_all.c includes the core's sources and picks the wait back end;
that list and that choice are written there and nowhere else.  A build file
that names another core source (csrc/*.c other than qsem_all.c) as something
to compile restates them, and drifts the day a source is added.  The build
files checked are the top-level CMakeLists.txt, setup.py and pyproject.toml,
every CMakeLists.txt and *.cmake of the tree, and every file under bindings/
(rockspecs, gemspecs, extconf.rb, Makefile.PL, binding.gyp, package.json,
cgo directives and #include lines of the front ends' own sources).

Naming a core source as a *dependency* (CMake's DEPENDS, setuptools'
`depends=`, for rebuilds and the sdist) compiles nothing and is allowed.
Exit status 0 when the tree is clean, 1 with one line per offence.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UNIT = "qsem_all.c"

# CMake keywords that end a DEPENDS list in add_custom_command/_target.
CMAKE_KEYWORDS = {
    "OUTPUT", "COMMAND", "ARGS", "MAIN_DEPENDENCY", "BYPRODUCTS", "IMPLICIT_DEPENDS",
    "WORKING_DIRECTORY", "COMMENT", "DEPFILE", "JOB_POOL", "VERBATIM", "APPEND",
    "USES_TERMINAL", "COMMAND_EXPAND_LISTS", "SOURCES", "ALL", "DEPENDS_EXPLICIT_ONLY",
}
SKIP_DIRS = {".git", "node_modules", "__pycache__", "corpus"}


def core_sources(root: str) -> set[str]:
    """The core's C files other than the one unit, by base name."""
    csrc = os.path.join(root, "csrc")
    names = {f for f in os.listdir(csrc) if f.endswith(".c") and f != UNIT}
    if not names:
        raise SystemExit(f"check_one_unit: no core sources found in {csrc}")
    return names


def named_sources(text: str, core: set[str]) -> list[str]:
    """Core sources that `text` names as a path or a bare file name."""
    found = []
    for m in re.finditer(r"[\w${}()./\\-]*?([\w-]+\.c)(?![\w.])", text):
        if m.group(1) in core:
            found.append(m.group(1))
    return found


def strip_comments(text: str, style: str) -> str:
    if style == "c":
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        return re.sub(r"//[^\n]*", "", text)
    if style == "lua":
        return re.sub(r"--[^\n]*", "", text)
    if style == "hash":
        return re.sub(r"(?m)(^|\s)#[^\n]*", r"\1", text)
    return text


def cmake_commands(text: str):
    """(name, [arguments]) for each command of a CMake file."""
    text = strip_comments(text, "hash")
    for m in re.finditer(r"(?m)^\s*([A-Za-z_]\w*)\s*\(", text):
        depth, i, start = 1, m.end(), m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        body = text[start:i - 1]
        yield m.group(1).lower(), re.findall(r'"[^"]*"|[^\s"]+', body)


def check_cmake(path: str, text: str, core: set[str]) -> list[str]:
    bad = []
    for name, args in cmake_commands(text):
        in_depends = False
        for a in args:
            if a in CMAKE_KEYWORDS or a == "DEPENDS":
                in_depends = a == "DEPENDS"
                continue
            if in_depends and name in ("add_custom_command", "add_custom_target"):
                continue
            bad += [f"{path}: {name}() names {s}" for s in named_sources(a, core)]
    return bad


def check_setup_py(path: str, text: str, core: set[str]) -> list[str]:
    """Sources of every Extension(...); its `depends` may list anything."""
    bad = []
    for node in ast.walk(ast.parse(text, path)):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "depends":
                continue
            seg = ast.get_source_segment(text, kw.value) or ""
            bad += [f"{path}: {kw.arg}= names {s}" for s in named_sources(seg, core)]
        for arg in node.args:
            seg = ast.get_source_segment(text, arg) or ""
            bad += [f"{path}: an argument names {s}" for s in named_sources(seg, core)]
    return bad


def check_other(path: str, text: str, core: set[str]) -> list[str]:
    ext = os.path.splitext(path)[1]
    style = {".c": "c", ".h": "c", ".cc": "c", ".cpp": "c", ".go": "c", ".js": "c",
             ".ts": "c", ".java": "c", ".cs": "c", ".i": "c", ".swg": "c",
             ".lua": "lua", ".rockspec": "lua"}.get(ext, "hash")
    if ext in (".c", ".h", ".cc", ".cpp", ".i", ".swg"):
        # A front end's own C source compiles a core file only by including it.
        text = "\n".join(l for l in text.splitlines() if re.match(r"\s*#\s*include", l))
    elif ext == ".go":
        # Only the cgo preamble (comments, as far as Go is concerned) builds C.
        text = "\n".join(l for l in text.splitlines()
                         if re.match(r"\s*(//\s*)?#(cgo|\s*include)", l))
        style = ""
    text = strip_comments(text, style)
    return [f"{path}: names {s}" for s in named_sources(text, core)]


def tracked_files(root: str) -> list[str] | None:
    """The files git tracks, so that ignored build output is left alone."""
    try:
        p = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True,
                           check=False)
    except OSError:
        return None
    if p.returncode != 0 or not p.stdout:
        return None
    return [os.path.normpath(f) for f in p.stdout.decode().split("\0") if f]


def is_build_file(p: str) -> bool:
    f = os.path.basename(p)
    return f == "CMakeLists.txt" or f.endswith(".cmake") or p.split(os.sep)[0] == "bindings"


def build_files(root: str):
    tracked = tracked_files(root)
    if tracked is not None:
        top = [f for f in ("CMakeLists.txt", "setup.py", "pyproject.toml") if f in tracked]
        yield from top
        yield from (p for p in tracked if p not in top and is_build_file(p)
                    and os.path.exists(os.path.join(root, p)))
        return
    for top in ("CMakeLists.txt", "setup.py", "pyproject.toml"):
        if os.path.exists(os.path.join(root, top)):
            yield top
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames
                       if d not in SKIP_DIRS and not d.endswith(".egg-info")
                       and not (rel == "." and d.startswith("build"))]
        for f in filenames:
            p = os.path.normpath(os.path.join(rel, f))
            if p in ("CMakeLists.txt", "setup.py", "pyproject.toml"):
                continue
            if is_build_file(p):
                yield p


def check_tree(root: str) -> list[str]:
    core = core_sources(root)
    bad = []
    for rel in build_files(root):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as fh:
                text = fh.read()
        except UnicodeDecodeError:
            continue   # binary files build nothing
        base = os.path.basename(rel)
        if base == "CMakeLists.txt" or base.endswith(".cmake"):
            bad += check_cmake(rel, text, core)
        elif base == "setup.py":
            bad += check_setup_py(rel, text, core)
        else:
            bad += check_other(rel, text, core)
    return bad


# {======================================================================
# Self-test: each planted defect must be found, and a clean tree passes
# ======================================================================

CLEAN = {
    "csrc/qsem_all.c": '#include "qsem.c"\n',
    "csrc/qsem.c": "", "csrc/qsem_futex.c": "", "csrc/qsem_new_backend.c": "",
    "CMakeLists.txt": "# qsem.c is included by qsem_all.c\nset(QSEM_SOURCES csrc/qsem_all.c)\n"
                      "add_library(qsem ${QSEM_SOURCES})\n",
    "tests/fuzz/CMakeLists.txt": "add_custom_command(OUTPUT x COMMAND cc ${_src}/qsem_all.c\n"
                                 "  DEPENDS ${_src}/qsem.c ${_src}/qsem_futex.c COMMENT hi)\n",
    "setup.py": 'Extension("q", sources=["bindings/python/m.c", "csrc/qsem_all.c"],\n'
                '          depends=["csrc/qsem.c"])\n',
    "bindings/lua/q.rockspec": 'sources = { "bindings/lua/lqsem.c", "csrc/qsem_all.c" }\n'
                               '-- csrc/qsem.c is not named here\n',
    "bindings/go/q.go": '// #cgo CFLAGS: -I../../csrc\n// #include "qsem_all.c"\nimport "C"\n',
    "bindings/lua/lqsem.c": '#include "qsem.h"\n/* see qsem.c */\n',
}

PLANTED = {
    "CMakeLists.txt": "add_library(qsem csrc/qsem.c csrc/qsem_futex.c)\n",
    "bindings/lua/CMakeLists.txt": "target_sources(m PRIVATE ${PROJECT_SOURCE_DIR}/csrc/qsem.c)\n",
    "tests/fuzz/CMakeLists.txt": "add_custom_command(OUTPUT x COMMAND cc ${_src}/qsem.c DEPENDS y)\n",
    "setup.py": 'Extension("q", sources=["csrc/qsem.c", "csrc/qsem_futex.c"])\n',
    "bindings/lua/q.rockspec": 'sources = { "bindings/lua/lqsem.c", "csrc/qsem.c" }\n',
    "bindings/go/q.go": '// #include "../../csrc/qsem_futex.c"\nimport "C"\n',
    "bindings/node/binding.gyp": '{"sources": ["../../csrc/qsem_new_backend.c"]}\n',
    "bindings/node/qsem_node.c": '#include "../../csrc/qsem.c"\n',
    "bindings/ruby/extconf.rb": '$srcs = ["qsem_ruby.c", "qsem.c"]\n',
}


def write_tree(root: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
            fh.write(text)


def self_test() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        write_tree(root, CLEAN)
        bad = check_tree(root)
        if bad:
            print("self-test: the clean tree was refused:", *bad, sep="\n  ")
            failures += 1
    for rel, text in PLANTED.items():
        with tempfile.TemporaryDirectory() as root:
            write_tree(root, CLEAN)
            write_tree(root, {rel: text})
            if not any(line.startswith(rel + ":") for line in check_tree(root)):
                print(f"self-test: a core source compiled by {rel} went unnoticed")
                failures += 1
    print(f"self-test: {len(PLANTED) + 1 - failures} of {len(PLANTED) + 1} cases as expected")
    return 1 if failures else 0

# }======================================================================


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else ROOT
    bad = check_tree(root)
    for line in bad:
        print(f"check_one_unit: {line} (compile csrc/{UNIT} instead)")
    if not bad:
        print(f"check_one_unit: every build file compiles csrc/{UNIT} alone")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
