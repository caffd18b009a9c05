#!/bin/sh
# Install what the build and the test suites need on a Debian machine.
# Each area lists its Debian packages in scripts/deps/<area>.apt and its PyPI
# packages in scripts/deps/<area>.pip; only missing ones are installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

apt_missing=""
for pkg in $(cat "$here"/deps/*.apt | sed 's/#.*//'); do
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

pip_wanted=$(cat "$here"/deps/*.pip 2>/dev/null | sed 's/#.*//' | tr '\n' ' ')
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
