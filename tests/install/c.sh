#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The C library as a packager installs it: `cmake --install` into a clean
# prefix, then a program outside the repository finds it through pkg-config
# and through CMake's find_package(qsem), and runs against both the shared
# and the static library.
set -euo pipefail
: "${QSEM_SOURCE_DIR:?}" "${QSEM_BUILD_DIR:?}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

# A build of its own, so that this test never depends on what the
# surrounding build configured (sanitizers, back end).
cmake -S "$QSEM_SOURCE_DIR" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$work/build" >/dev/null
cmake --install "$work/build" >/dev/null

mkdir "$work/app"
cat > "$work/app/main.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <qsem.h>

int main(void)
{
    qsem_t *s = qsem_new(2, 3, 0);
    if (s == NULL || qsem_acquire_for(s, 2, 1000000) != 0 ||
        qsem_try_acquire(s, 1) != EAGAIN || qsem_release(s, 3) != 0 ||
        qsem_release(s, 1) != EOVERFLOW || qsem_available(s) != 3) {
        fprintf(stderr, "installed qsem misbehaves\n");
        return 1;
    }
    qsem_close(s);
    int rc = qsem_acquire(s, 1);
    qsem_unref(s);
    if (rc != ECANCELED || strcmp(QSEM_VERSION_STRING, "") == 0)
        return 1;
    printf("qsem %s (%s): ok\n", QSEM_VERSION_STRING, qsem_backend());
    return 0;
}
C

# pkg-config, shared library.
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name qsem.pc | head -n 1)")
cc -o "$work/app/pc" "$work/app/main.c" $(pkg-config --cflags --libs qsem)
LD_LIBRARY_PATH=$(pkg-config --variable=libdir qsem) "$work/app/pc"
# The installed version is the one pkg-config reports.
want=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"/\1/p' "$QSEM_SOURCE_DIR/csrc/qsem_version.h")
[ "$(pkg-config --modversion qsem)" = "$want" ] ||
    { echo "pkg-config says $(pkg-config --modversion qsem), the header $want" >&2; exit 1; }

# CMake's find_package, static and shared targets.
cat > "$work/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(qsem 0 REQUIRED)
add_executable(app_shared main.c)
target_link_libraries(app_shared PRIVATE qsem::qsem)
add_executable(app_static main.c)
target_link_libraries(app_static PRIVATE qsem::qsem_static)
CM
cmake -S "$work/app" -B "$work/app/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/app/build" >/dev/null
"$work/app/build/app_shared"
"$work/app/build/app_static"
echo "install_c: ok"
