// `npm start` and `npm run users` compile first in a checkout. On a host that compiled dist/ at
// deploy time and then pruned devDependencies (Heroku), the compiler is gone by the time
// `heroku run npm run users -- add alice` runs: the dist/ built by the deploy is used as it is.
/* global __dirname */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc === undefined) {
  if (existsSync(path.join(root, 'dist', 'server.js'))) process.exit(0);
  console.error('dist/ is missing and TypeScript is not installed: run `npm ci` and `npm run build` first.');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
