import { compile, isDistFresh } from '../../scripts/dist-fresh.cjs';

/**
 * The process suite runs the compiled server (`node dist/server.js`). CI builds first
 * (.ci/run: `npm run build` then `npm test`); locally, a dist/ older than its sources is rebuilt
 * here, once, before any test file starts, by the same rule as `npm start` (scripts/dist-fresh.cjs).
 */
export default function globalSetup(): void {
  if (isDistFresh()) return;
  const status = compile();
  if (status !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${status}: the process tests need a compiled dist/.`);
}
