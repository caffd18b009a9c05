// SPDX-License-Identifier: MIT
'use strict';
// `npm pack` runs this: copy the core into the package, which must build
// on its own once it is outside the repository.  Afterwards (postpack,
// with --clean) the copies go again: build.js prefers a package's own
// core, and a copy left in the checkout would be built, stale, by later
// installs from it.
const fs = require('node:fs');
const path = require('node:path');

const from = path.join(__dirname, '..', '..', 'csrc');
const to = path.join(__dirname, 'csrc');
if (process.argv.includes('--clean')) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.rmSync(path.join(__dirname, 'LICENSE'), { force: true });
  process.exit(0);
}
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) {
  if (/\.[ch]$/.test(name)) fs.copyFileSync(path.join(from, name), path.join(to, name));
}
// The license travels with the package (npm includes LICENSE by itself).
fs.copyFileSync(path.join(__dirname, '..', '..', 'LICENSE'), path.join(__dirname, 'LICENSE'));
