#!/bin/bash
# SPDX-License-Identifier: MIT
# Install test, C#: `cmake --install --component csharp` puts Qsem.dll and
# libqsemcs.so in lib/qsem-csharp under a clean prefix; a program written
# here, outside the repository, is compiled against the installed
# assembly alone and run with only that directory on the search paths.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}"
: "${QSEM_BUILD_DIR:?QSEM_BUILD_DIR must name the CMake build directory}"

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$QSEM_BUILD_DIR" --prefix "$prefix" --component csharp >/dev/null
lib=$(dirname "$(find "$prefix" -name Qsem.dll | head -n 1)")
if [ ! -f "$lib/Qsem.dll" ] || [ ! -f "$lib/libqsemcs.so" ]; then
    echo "csharp.sh: cmake --install put no Qsem.dll and libqsemcs.so under $prefix" >&2
    exit 1
fi

cat > "$prefix/Program.cs" <<'CS'
using System;
using System.Threading;
using Semaphore = Qsem.Semaphore;

static class Program {
  static int Main(string[] args) {
    if (Qsem.qsem.VERSION != args[0]) { Console.Error.WriteLine("version " + Qsem.qsem.VERSION); return 1; }
    var sem = new Semaphore(0, 2);
    var t = new Thread(() => sem.Acquire(2));
    t.Start();
    sem.Release(2);
    t.Join();
    try { sem.Release(3); Console.Error.WriteLine("release past max accepted"); return 1; }
    catch (SemaphoreFullException) {}
    sem.Dispose();
    try { sem.Available(); Console.Error.WriteLine("call after Dispose accepted"); return 1; }
    catch (ObjectDisposedException) {}
    Console.WriteLine("qsem " + Qsem.qsem.VERSION + ": ok");
    return 0;
  }
}
CS

version=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"/\1/p' "$QSEM_SOURCE_DIR/csrc/qsem_version.h")
cd "$prefix"
mcs -nologo -r:"$lib/Qsem.dll" -out:"$prefix/Program.exe" "$prefix/Program.cs"
MONO_PATH="$lib" LD_LIBRARY_PATH="$lib" mono "$prefix/Program.exe" "$version"
