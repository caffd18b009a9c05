#!/bin/bash
# SPDX-License-Identifier: MIT
# Install test for the Node.js package: npm pack bindings/node, install the
# tarball into a fresh project outside the repository (its install script
# builds the addon with the Node headers on the machine; nothing else is
# downloaded), and run a small program against the installed package only.
set -euo pipefail

src=${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}
# The installed package must load its own addon, not a build tree's.
unset QSEM_NODE_ADDON NODE_PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export npm_config_cache="$tmp/npm-cache" npm_config_audit=false npm_config_fund=false \
       npm_config_update_notifier=false npm_config_loglevel=error

# npm pack runs prepack (copying the core into the package); do it on a
# copy so that the source tree is left as it was.
mkdir "$tmp/pkg"
cp -R "$src/bindings/node/." "$tmp/pkg/"
rm -rf "$tmp/pkg/node_modules" "$tmp/pkg/build" "$tmp/pkg/csrc"
mkdir -p "$tmp/repo/bindings"
mv "$tmp/pkg" "$tmp/repo/bindings/node"
cp -R "$src/csrc" "$tmp/repo/csrc"
cp "$src/LICENSE" "$tmp/repo/LICENSE"
(cd "$tmp/repo/bindings/node" && npm pack --pack-destination "$tmp" >/dev/null)
tarball=$(ls "$tmp"/qsem-*.tgz)
tar -tzf "$tarball" >"$tmp/contents"
grep -qx 'package/LICENSE' "$tmp/contents" || { echo "the npm package carries no LICENSE" >&2; exit 1; }
grep -qx 'package/csrc/qsem_all.c' "$tmp/contents" || { echo "the npm package carries no core" >&2; exit 1; }
# postpack takes the copies back: a core left in the checkout would be
# built, stale, by a later install from the checkout
if [ -e "$tmp/repo/bindings/node/csrc" ] || [ -e "$tmp/repo/bindings/node/LICENSE" ]; then
  echo "npm pack left copies in bindings/node" >&2; exit 1
fi

mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm install "$tarball" >/dev/null
if [ ! -f node_modules/qsem/build/qsem.node ]; then
    echo "node.sh: npm install did not build node_modules/qsem/build/qsem.node" >&2
    exit 1
fi
cat > main.js <<'JS'
'use strict';
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { Semaphore, TimeoutError } = require('qsem');

assert.match(require.resolve('qsem'), /node_modules[\\/]qsem[\\/]index\.js$/);
(async () => {
  const s = new Semaphore(1, { max: 2 });
  await s.acquire();
  await assert.rejects(s.acquire(1, { timeout: 10 }), TimeoutError);
  const w = new Worker(`
    const { Semaphore } = require('qsem');
    const s = Semaphore.from(require('node:worker_threads').workerData);
    s.release(2);`, { eval: true, workerData: s.share() });
  await s.acquire(2);
  await new Promise((resolve) => w.once('exit', resolve));
  assert.equal(s.available, 0);
  console.log('qsem installed and working');
})();
JS
node main.js
