// @ts-check
/**
 * The little state several modules share. It is one object rather than exported `let`s because
 * an importer cannot assign to an imported binding.
 */

export const page = {
  /** False while the sign-in form shows: late answers to old requests must not act on the page. */
  signedIn: false,
  /**
   * The answer being streamed, if any: Stop, Escape, signing out and an ended session abort it.
   * @type {AbortController | null}
   */
  inFlight: null,
};
