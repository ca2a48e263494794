import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../src/config';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import { createLogger } from '../../src/infra/logger';
import { compose } from '../../src/compose';
import type { Composition } from '../../src/compose';
import { serve } from '../../src/serve';
import type { Running } from '../../src/serve';
import { clearPrefix, LogCapture, TEST_SCRYPT } from '../helpers/harness';

/** Screenshots of the main states land here (git-ignored). */
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts', 'e2e');
const REDIS_URL = process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Site {
  running: Running;
  /** What the server is made of (its stores, its password hasher), to arrange state a test needs. */
  composition: Composition;
  standIn: PerfStandIn;
  browser: Browser;
  origin: string;
  /** The server's log lines. */
  logs: LogCapture;
  close(): Promise<void>;
}

/**
 * The real server (Redis stores, the built-in Perf stand-in, the real public/ page) on a free
 * port, with its own Redis key prefix, and a headless Chromium to look at it.
 */
export async function startSite(env: Record<string, string> = {}, browserArgs: string[] = []): Promise<Site> {
  const prefix = `perf-bff:e2e:${randomBytes(6).toString('hex')}:`;
  const config = loadConfig({
    PORT: '0',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    SHUTDOWN_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'info',
    ...env,
  });
  const logs = new LogCapture();
  const composition = await compose(config, createLogger(config.logLevel, logs), { scryptCost: TEST_SCRYPT, defaultMetrics: false });
  const running = await serve(composition, { port: config.port, shutdownTimeoutMs: config.shutdownTimeoutMs });
  const standIn = composition.standIn;
  if (standIn === undefined) throw new Error('expected the built-in Perf stand-in (no PERF_API_KEY)');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      ...browserArgs,
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    running,
    composition,
    standIn,
    browser,
    origin: new URL(running.url).origin,
    logs,
    async close() {
      await browser.close();
      await running.shutdown('test');
      await clearPrefix(prefix, REDIS_URL);
    },
  };
}

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for. */
  requests: string[];
  /** Console errors, uncaught exceptions, CSP violations: all unexpected. */
  problems: string[];
  /** HTTP statuses the test provokes on purpose; Chromium logs "Failed to load resource" for them. */
  expectStatuses: Set<number>;
}

/**
 * A fresh browser context (no cookies) and page, recording every request and every console
 * error. Chromium reports an HTTP error answer as a console error ("Failed to load resource: the
 * server responded with a status of 401"); those are accepted only for statuses the test expects.
 */
export async function openPage(site: Site, viewport = { width: 1000, height: 760 }): Promise<Watched> {
  const context = await site.browser.newContext({ viewport, serviceWorkers: 'block', reducedMotion: 'reduce' });
  const page = await context.newPage();
  // Signed out, the page's first GET /auth/me answers 401: that one is part of the contract.
  const watched: Watched = { context, page, requests: [], problems: [], expectStatuses: new Set([401]) };
  page.on('request', (req) => watched.requests.push(req.url()));
  page.on('pageerror', (err) => watched.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const status = /the server responded with a status of (\d{3})/.exec(msg.text());
    if (status?.[1] !== undefined && watched.expectStatuses.has(Number(status[1]))) return;
    watched.problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  await page.goto(site.running.url);
  return watched;
}

/** Requests that went anywhere but our own origin. */
export function foreignRequests(watched: Watched, origin: string): string[] {
  return watched.requests.filter((url) => new URL(url).origin !== origin);
}

export async function signIn(page: Page, username = 'demo', password = 'demo'): Promise<void> {
  await page.getByLabel('Username').fill(username);
  // Exact: the password form's "Current password" and "New password" are in the page too.
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#composer-input').waitFor({ state: 'visible' });
}

/** The text of the newest assistant message. */
export function lastAnswer(page: Page) {
  return page.locator('#log .message-assistant').last();
}

export async function lastAnswerText(page: Page): Promise<string> {
  return (await lastAnswer(page).locator('.message-text').textContent()) ?? '';
}

export async function send(page: Page, text: string): Promise<void> {
  await page.locator('#composer-input').fill(text);
  await page.locator('#composer-input').press('Enter');
}

/** Waits until the newest answer has reached `state` ("done", "stopped", "error"), and returns its text. */
export async function waitForAnswer(page: Page, state = 'done', timeout = 10_000): Promise<string> {
  await page.waitForFunction(
    (wanted) => {
      const answers = document.querySelectorAll('#log .message-assistant');
      const last = answers[answers.length - 1];
      return last instanceof HTMLElement && last.dataset.state === wanted;
    },
    state,
    { timeout },
  );
  return lastAnswerText(page);
}

export function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

export async function activeElementId(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

/** Polls a condition in Node (for state outside the page, such as the stand-in's counters). */
export async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
