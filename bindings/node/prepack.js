// SPDX-License-Identifier: MIT
'use strict';
// `npm pack` runs this: copy the core into the package, which must build
// on its own once it is outside the repository.
const fs = require('node:fs');
const path = require('node:path');

const from = path.join(__dirname, '..', '..', 'csrc');
const to = path.join(__dirname, 'csrc');
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) {
  if (/\.[ch]$/.test(name)) fs.copyFileSync(path.join(from, name), path.join(to, name));
}
// The license travels with the package (npm includes LICENSE by itself).
fs.copyFileSync(path.join(__dirname, '..', '..', 'LICENSE'), path.join(__dirname, 'LICENSE'));
