// SPDX-License-Identifier: MIT
'use strict';
// Build build/qsem.node with the C compiler and the Node headers already on
// the machine: no download, no node-gyp.  `npm install` runs this.
//
//   CC                   the compiler (default: cc)
//   QSEM_NODE_INCLUDE    the directory holding node_api.h
//                        (default: <prefix of this node>/include/node)
//   QSEM_NODE_CFLAGS     extra flags, split on spaces (e.g. -fsanitize=address)

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function fail(message) {
  console.error(`qsem: ${message}`);
  process.exit(1);
}

const include = process.env.QSEM_NODE_INCLUDE ||
  path.resolve(process.execPath, '..', '..', 'include', 'node');
if (!fs.existsSync(path.join(include, 'node_api.h'))) {
  fail(`node_api.h not found in ${include}; install Node's headers (Debian: the nodejs ` +
       'or libnode-dev package) or set QSEM_NODE_INCLUDE');
}

// The core: a copy made by `npm pack` (prepack), else the repository's.
let core = path.join(__dirname, 'csrc');
if (!fs.existsSync(path.join(core, 'qsem_all.c'))) core = path.join(__dirname, '..', '..', 'csrc');
if (!fs.existsSync(path.join(core, 'qsem_all.c'))) fail('the qsem core (csrc/) is missing');

const out = path.join(__dirname, 'build', 'qsem.node');
fs.mkdirSync(path.dirname(out), { recursive: true });
const extra = (process.env.QSEM_NODE_CFLAGS || '').split(' ').filter(Boolean);
const args = [
  '-std=gnu11', '-O2', '-g', '-fPIC', '-shared', '-pthread', '-fvisibility=hidden',
  '-Wall', '-Wextra', '-Wshadow', '-Wstrict-prototypes', ...extra,
  '-I', include, '-I', core,
  path.join(__dirname, 'qsem_node.c'), path.join(core, 'qsem_all.c'),
  '-o', out,
];
const cc = process.env.CC || 'cc';
try {
  execFileSync(cc, args, { stdio: 'inherit' });
} catch (err) {
  fail(`${cc} failed (${err.message})`);
}
