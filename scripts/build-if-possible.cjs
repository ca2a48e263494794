// `npm start` and `npm run users` compile first in a checkout, but only when something changed
// since the last build (scripts/dist-fresh.cjs): a start with nothing to compile is not kept
// waiting seconds for tsc. On a host that compiled dist/ at deploy time and then pruned
// devDependencies (Heroku), the compiler is gone by the time `heroku run npm run users -- add alice`
// runs: the dist/ built by the deploy is used as it is.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');
const { ROOT, isDistFresh, compile } = require('./dist-fresh.cjs');

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc === undefined) {
  if (existsSync(path.join(ROOT, 'dist', 'server.js'))) process.exit(0);
  console.error('dist/ is missing and TypeScript is not installed: run `npm ci` and `npm run build` first.');
  process.exit(1);
}
if (isDistFresh()) process.exit(0);
process.exit(compile(ROOT, tsc));
