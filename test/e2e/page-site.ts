import type { Page } from 'playwright-core';
import { foreignRequests, openPage, startSite } from './browser-harness';
import type { Site, Watched } from './browser-harness';

export interface PageSite {
  /** The running site (server, stand-in, browser), once beforeAll has run. */
  site: () => Site;
  /** A fresh browser context and page on the site; afterwards it must have stayed on our origin and quiet. */
  open: (viewport?: { width: number; height: number }) => Promise<Page>;
  /** The page open() opened, with what it requested and any problem it reported. */
  current: () => Watched;
}

/** Registers the hooks of a chat-page test file: one site for the file, one page per test. */
export function usePageSite(env: Record<string, string>): PageSite {
  let site: Site | undefined;
  let watched: Watched | undefined;
  const running = (): Site => {
    if (site === undefined) throw new Error('the site starts in beforeAll');
    return site;
  };

  beforeAll(async () => {
    site = await startSite(env);
  });
  afterAll(async () => {
    await site?.close();
  });
  beforeEach(() => {
    running().standIn.reset();
  });
  afterEach(async () => {
    if (watched === undefined) return;
    const { problems, context } = watched;
    const foreign = foreignRequests(watched, running().origin);
    watched = undefined;
    await context.close();
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  return {
    site: running,
    async open(viewport) {
      watched = await openPage(running(), viewport);
      return watched.page;
    },
    current() {
      if (watched === undefined) throw new Error('open() a page first');
      return watched;
    },
  };
}

export const words = (n: number, word = 'word'): string => Array.from({ length: n }, (_, i) => `${word}${i + 1}`).join(' ');
