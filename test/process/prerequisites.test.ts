import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../helpers/net';
import { waitFor } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '..', '..');
const JEST = require.resolve('jest/bin/jest');

describe('npm test without its prerequisites', () => {
  test('when nothing answers at TEST_REDIS_URL, Jest exits non-zero within 30 s and says how to start Redis, before any test', async () => {
    const port = await freePort(); // listened on and closed: connections to it are refused
    const env: NodeJS.ProcessEnv = { ...process.env, TEST_REDIS_URL: `redis://127.0.0.1:${port}` };
    delete env.JEST_WORKER_ID; // this file's worker id is not the child's
    // A second Jest on the repository's config, limited to one small file of the "unit" project so that
    // it stays out of the run this test belongs to. The path goes first: yargs would read a path after
    // --selectProjects as a second project name.
    const child = spawn(process.execPath, [JEST, '--ci', 'test/money.test.ts', '--selectProjects', 'unit'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 30_000, 'the child Jest to exit', 50);
    } finally {
      child.kill('SIGKILL'); // a no-op once it exited
    }

    expect(child.exitCode).not.toBe(0);
    expect(output).toContain('start Redis:');
    expect(output).toContain(`redis://127.0.0.1:${port} (TEST_REDIS_URL)`);
    expect(output).toContain('redis-server --daemonize yes');
    expect(output).not.toContain('Tests:');
  }, 40_000);
});
