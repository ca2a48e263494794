/** Polls `check` until it holds; returns how long that took. Throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'the condition',
  everyMs = 10,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return Date.now() - started;
}

/** Retries an assertion until it passes; after `timeoutMs` its last failure is thrown. */
export async function eventually(assertion: () => unknown, timeoutMs = 5000, everyMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

/** Waits until `read()` has not changed for `quietMs` (a flow that came to rest); returns its value. */
export async function steady(read: () => number, quietMs: number, timeoutMs = 5000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > until) throw new Error(`still changing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const next = read();
    if (next !== value) {
      value = next;
      since = Date.now();
    }
  }
  return value;
}
