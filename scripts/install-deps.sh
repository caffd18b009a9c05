#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what the build and the test suites need on a Debian machine.
#
#   sh scripts/install-deps.sh            every area (make demo, make test)
#   sh scripts/install-deps.sh core lua   only those areas (make lua, ...)
#
# Each area lists its Debian packages in scripts/deps/<area>.apt and its PyPI
# packages in scripts/deps/<area>.pip; only missing ones are installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
    apt_lists=$(ls "$here"/deps/*.apt)
    pip_lists=$(ls "$here"/deps/*.pip 2>/dev/null || true)
else
    apt_lists=""
    pip_lists=""
    for area in "$@"; do
        found=""
        [ -f "$here/deps/$area.apt" ] && apt_lists="$apt_lists $here/deps/$area.apt" && found=1
        [ -f "$here/deps/$area.pip" ] && pip_lists="$pip_lists $here/deps/$area.pip" && found=1
        if [ -z "$found" ]; then
            echo "install-deps: no scripts/deps/$area.apt or .pip" >&2
            exit 2
        fi
    done
fi

apt_missing=""
for pkg in $(cat $apt_lists /dev/null | sed 's/#.*//'); do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
        apt_missing="$apt_missing $pkg"
done
if [ -n "$apt_missing" ]; then
    echo "install-deps: apt-get install$apt_missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $apt_missing
fi

pip_wanted=$(cat $pip_lists /dev/null | sed 's/#.*//' | tr '\n' ' ')
if [ -n "$(echo "$pip_wanted" | tr -d ' ')" ]; then
    PY=${PYTHON:-python3}
    pip_missing=""
    for req in $pip_wanted; do
        name=$(echo "$req" | sed 's/[<>=!~].*//')
        "$PY" -m pip show -q "$name" >/dev/null 2>&1 || pip_missing="$pip_missing $req"
    done
    if [ -n "$pip_missing" ]; then
        echo "install-deps: pip install$pip_missing"
        "$PY" -m pip install -q --disable-pip-version-check $pip_missing
    fi
fi
