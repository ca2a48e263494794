import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { readmeSnippet } from '../helpers/readme-snippets';
import { eventually, signIn, startSite } from './browser-harness';
import type { Site } from './browser-harness';

/*
 * The README's "Use it from your frontend" snippets, run as written in real Chromium and bash.
 * Chromium resolves *.example.test and *.other.test to 127.0.0.1: perf-bff answers as
 * api.example.test, an app of the same site as app.example.test (listed in ALLOWED_ORIGINS), and
 * another site as evil.other.test.
 */

const ROOT = path.join(__dirname, '..', '..');
const README_BFF = 'https://api.example.com';
const ANSWER = 'You wrote 5 characters: "Hello"';

/** A tiny web server for the pages of other origins: each route a page that runs one module. */
class OtherOrigin {
  readonly modules = new Map<string, string>();
  private readonly server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1).replace(/\.js$/, '');
    const code = name === '' ? '' : this.modules.get(name);
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (code === undefined) {
      res.writeHead(404).end();
    } else if (req.url?.endsWith('.js') === true) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(code);
    } else {
      // The module's completion is reported on the console, where the test reads it.
      const runner = `import('/${name}.js').then(() => console.log('SNIPPET DONE'), (e) => console.log('SNIPPET FAILED ' + e));`;
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end(`<!doctype html><title>${name}</title><script type="module">${runner}</script>`);
    }
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A README snippet bundled for the browser (its imports resolved from this repository). */
async function bundle(snippet: string, resolveDir: string): Promise<string> {
  const out = await build({
    stdin: { contents: snippet, resolveDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]?.text ?? '';
}

/** Opens a page and collects what it logs, until the snippet says it is done (or failed). */
async function runPage(context: BrowserContext, url: string): Promise<string[]> {
  const page = await context.newPage();
  const logged: string[] = [];
  // Chromium's own lines about failed loads are not the snippet's output.
  page.on('console', (msg) => {
    if (!msg.text().startsWith('Failed to load resource')) logged.push(msg.text());
  });
  await page.goto(url);
  await eventually(() => logged.some((l) => l.startsWith('SNIPPET ')), 20_000);
  await page.close();
  return logged;
}

describe('the README snippets, as a frontend runs them', () => {
  let site: Site;
  let other: OtherOrigin;
  let otherPort: number;
  let bff: string;
  let app: string;

  beforeAll(async () => {
    other = new OtherOrigin();
    otherPort = await other.listen();
    app = `http://app.example.test:${otherPort}`;
    site = await startSite({ ALLOWED_ORIGINS: app }, ['--host-resolver-rules=MAP *.example.test 127.0.0.1, MAP *.other.test 127.0.0.1']);
    bff = `http://api.example.test:${new URL(site.running.url).port}`;
  });
  afterAll(async () => {
    await site.close();
    await other.close();
  });

  async function signedInPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    await page.goto(bff);
    await signIn(page);
    return { context, page };
  }

  test("fetch: Perf's docs snippet, verbatim on the signed-in chat page, gets the answer", async () => {
    const { context, page } = await signedInPage();
    const logged: string[] = [];
    page.on('console', (msg) => logged.push(msg.text()));
    await page.evaluate(`(async () => { ${readmeSnippet('fetch')} })()`);
    expect(logged).toEqual([expect.stringContaining(ANSWER)]);
    await context.close();
  });

  test("the same request from another site's page is refused, and Perf is never called", async () => {
    const { context } = await signedInPage();
    const before = site.standIn.requests.length;
    const crossSite = readmeSnippet('fetch')
      .replace("'/api/chat'", `'${bff}/api/chat'`)
      .replace("method: 'POST',", "method: 'POST', credentials: 'include',");
    other.modules.set('cross-site', crossSite);
    const logged = await runPage(context, `http://evil.other.test:${otherPort}/cross-site`);
    // Without CORS consent the page cannot read the answer (a TypeError), and the server refused it.
    expect(logged).toEqual([expect.stringMatching(/has been blocked by CORS policy/), expect.stringMatching(/^SNIPPET FAILED TypeError/)]);
    expect(site.standIn.requests.length).toBe(before);
    await context.close();
  });

  test('the client module, from an allowed origin of the same site: signs in and streams', async () => {
    const context = await site.browser.newContext();
    other.modules.set('client', await bundle(readmeSnippet('client').replace(README_BFF, bff), path.join(ROOT, 'public')));
    const logged = await runPage(context, `${app}/client`);
    expect(logged).toEqual([expect.stringContaining(ANSWER), 'SNIPPET DONE']);
    await context.close();
  });

  test('the openai SDK, from an allowed origin: a completion, then a stream', async () => {
    const context = await site.browser.newContext();
    await signInFrom(context, app, bff);
    other.modules.set('openai', await bundle(readmeSnippet('openai').replace(README_BFF, bff), ROOT));
    const logged = await runPage(context, `${app}/openai`);
    expect(logged[0]).toContain(ANSWER);
    expect(logged.slice(1, -1).join('')).toContain(ANSWER);
    expect(logged.at(-1)).toBe('SNIPPET DONE');
    await context.close();
  });

  test('the Vercel AI SDK, from an allowed origin: a streamed text', async () => {
    const context = await site.browser.newContext();
    await signInFrom(context, app, bff);
    other.modules.set('vercel-ai', await bundle(readmeSnippet('vercel-ai').replace(README_BFF, bff), ROOT));
    const logged = await runPage(context, `${app}/vercel-ai`);
    expect(logged.at(-1)).toBe('SNIPPET DONE');
    expect(logged.slice(0, -1).join('')).toContain(ANSWER);
    await context.close();
  });

  test('curl: sign in with a cookie jar, chat, stream, usage', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perf-bff-curl-'));
    try {
      const script = readmeSnippet('curl').replace('http://localhost:3000', site.running.url);
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, timeout: 20_000 });
      expect(stdout).toContain('{"user":{"username":"demo"}}');
      expect(stdout).toContain('"object":"chat.completion"');
      expect(stdout).toContain('data: [DONE]');
      expect(stdout).toMatch(/"rate_limit":\{"limit":\d+,"remaining":\d+/);
      expect(readFileSync(path.join(dir, 'jar.txt'), 'utf8')).toContain('perf-bff.sid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Signs in from a page of `appOrigin` with a credentialed CORS request, as an app would. */
async function signInFrom(context: BrowserContext, appOrigin: string, bff: string): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${appOrigin}/`); // a blank page of that origin
  const status = await page.evaluate(async (url) => {
    const res = await fetch(`${url}/auth/login`, {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo' }),
    });
    return res.status;
  }, bff);
  expect(status).toBe(200);
  await page.close();
}
