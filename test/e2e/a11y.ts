import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/**
 * The rule sets the page is held to: WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices
 * (landmarks, one main, headings, regions), which this small page meets in full.
 */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/**
 * Runs axe on the page as it is now and fails with one readable line per offending element:
 * which state, which rule, how bad, what it means, where, and axe's summary of the fix.
 * `stateName` says which state of the page was checked ("sign-in with an error", …).
 */
export async function expectNoAxeViolations(page: Page, stateName: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  const found = results.violations.flatMap((violation) =>
    violation.nodes.map((node) => {
      const where = node.target.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
      const fix = (node.failureSummary ?? '').replace(/\s*\n\s*/g, ' ');
      return `[${stateName}] ${violation.id} (${violation.impact ?? 'unknown'}): ${violation.help} at ${where}: ${fix}`;
    }),
  );
  expect(found).toEqual([]);
}

/**
 * What axe does not check, in the page as it is now:
 * - a live region (role alert/status/log, or aria-live polite/assertive) on the screen that shows
 *   is rendered, even when it has nothing to say (one revealed with its text is not announced);
 * - no alert, status, log or timer contains a control;
 * - the skip link, when offered, leads to an element that is on screen.
 * A screen is a `main > section`; the live regions of a hidden screen are left out.
 */
export function houseRuleProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element): string => (el.id === '' ? `<${el.tagName.toLowerCase()} class="${el.className}">` : `#${el.id}`);
    const rendered = (el: Element): boolean =>
      el.checkVisibility({ visibilityProperty: true }) && el.closest('[aria-hidden="true"]') === null;
    const live = '[role="alert"], [role="status"], [role="log"], [aria-live="polite"], [aria-live="assertive"]';
    for (const region of document.querySelectorAll(live)) {
      const screen = region.closest('main > section');
      if (screen !== null && !rendered(screen)) continue;
      if (!rendered(region)) problems.push(`live region ${name(region)} is not rendered while its screen shows`);
    }
    const controls = 'a[href], button, input, select, textarea, [tabindex], [role="button"], [role="link"]';
    for (const region of document.querySelectorAll('[role="alert"], [role="status"], [role="log"], [role="timer"]')) {
      for (const control of region.querySelectorAll(controls))
        problems.push(`${name(region)} (role=${region.getAttribute('role') ?? ''}) contains the control ${name(control)}`);
    }
    for (const link of document.querySelectorAll<HTMLAnchorElement>('a[href^="#"]')) {
      if (!rendered(link)) continue;
      const target = document.getElementById(link.hash.slice(1));
      if (target === null || !rendered(target))
        problems.push(`the link "${link.textContent}" is offered but its target ${link.hash} is not on screen`);
    }
    return problems;
  });
}

/** axe and the house rules together: the check run at each state of the page. */
export async function expectAccessible(page: Page, stateName: string): Promise<void> {
  expect((await houseRuleProblems(page)).map((problem) => `[${stateName}] ${problem}`)).toEqual([]);
  await expectNoAxeViolations(page, stateName);
}

export interface AxFacts {
  /** False when Chromium left the element out of the accessibility tree (display:none, say). */
  inTree: boolean;
  role: string;
  name: string;
  description: string;
}

/** The element as Chromium's accessibility tree (what a screen reader reads) has it. */
export async function axFacts(page: Page, selector: string): Promise<AxFacts> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
    const node = nodes[0];
    if (node === undefined) return { inTree: false, role: '', name: '', description: '' };
    const text = (value: { value?: unknown } | undefined): string => (typeof value?.value === 'string' ? value.value : '');
    return { inTree: !node.ignored, role: text(node.role), name: text(node.name), description: text(node.description) };
  } finally {
    await cdp.detach();
  }
}

/**
 * Watches the page's live regions from now on (call before the page's script runs, through
 * `page.addInitScript(watchLiveRegions)`, or later with `page.evaluate(watchLiveRegions)`): a
 * region whose text changes before any animation frame has seen it rendered is recorded, since a
 * screen reader does not announce it. `liveRegionsChangedUnseen` returns what was recorded.
 */
export function watchLiveRegions(): void {
  const state = { seen: new WeakSet<Element>(), unseen: [] as string[] };
  (window as unknown as { liveRegionWatch: typeof state }).liveRegionWatch = state;
  const selector = '[role="alert"], [role="status"], [role="log"], [aria-live="polite"], [aria-live="assertive"]';
  const rendered = (el: Element): boolean =>
    el.checkVisibility({ visibilityProperty: true }) && el.closest('[aria-hidden="true"]') === null;
  const look = (): void => {
    for (const region of document.querySelectorAll(selector)) {
      if (rendered(region)) state.seen.add(region);
      else state.seen.delete(region);
    }
  };
  const frame = (): void => {
    look();
    requestAnimationFrame(frame);
  };
  look();
  requestAnimationFrame(frame);
  new MutationObserver((records) => {
    for (const record of records) {
      const node = record.target instanceof Element ? record.target : record.target.parentElement;
      const region = node?.closest(selector);
      if (region === null || region === undefined || region.getAttribute('aria-live') === 'off') continue;
      if (region.textContent.trim() === '' || state.seen.has(region)) continue;
      state.unseen.push(`#${region.id}: "${region.textContent.trim().slice(0, 60)}"`);
    }
  }).observe(document, { childList: true, characterData: true, subtree: true });
}

/** The live regions whose text changed before they were rendered, since `watchLiveRegions`. */
export function liveRegionsChangedUnseen(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      (window as unknown as { liveRegionWatch?: { unseen: string[] } }).liveRegionWatch?.unseen ?? [
        'the live-region watch is not installed',
      ],
  );
}
