// @ts-check
/**
 * The chat page: sign in (and choose a password after a one-time one), talk, sign out. No
 * framework and no build step; every module is type-checked by `npm run typecheck` through
 * tsconfig.public.json. This one wires the page's events to the modules that do the work, then
 * finds out whether a session is already open.
 *
 * Rules every module keeps (see "The chat page" in README.md):
 * - Text from the model or the server is only ever set with textContent / text nodes, never as HTML.
 * - The conversation lives in this page only (conversation.js); the server stores no prompts.
 * - Every request goes to our own origin; the session cookie is HttpOnly and never touched here.
 */
import { choosePassword, enterChat, signIn, signInAsGuest, signOut } from './auth.js';
import { bff } from './bff.js';
import { send } from './chat.js';
import { ui } from './dom.js';
import { renderConnection, runRetry } from './notice.js';
import { page } from './page-state.js';
import { PerfBffError } from './perf-bff-client.js';
import { backToChat, showChoosePassword, showSignIn, showSignInMethods, signInAlertAfterShow } from './views.js';
import { offlineText, signInProblem } from './wording.js';

ui.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn();
});

ui.guestButton.addEventListener('click', () => {
  void signInAsGuest();
});

ui.signOut.addEventListener('click', () => {
  void signOut();
});

ui.choosePasswordForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void choosePassword();
});

ui.changePassword.addEventListener('click', () => {
  showChoosePassword(false);
});

ui.choosePasswordCancel.addEventListener('click', backToChat);

ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  } else if (event.key === 'Escape' && page.inFlight !== null) {
    page.inFlight.abort();
  }
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

ui.stop.addEventListener('click', () => {
  page.inFlight?.abort();
});

ui.retry.addEventListener('click', runRetry);

window.addEventListener('online', renderConnection);
window.addEventListener('offline', renderConnection);

/**
 * A sign-in with the identity provider that did not complete comes back as /?sign_in_error=…:
 * taken from the address (so that a reload does not say it again) and explained.
 * @returns {string | null}
 */
function takeSignInProblem() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('sign_in_error');
  if (code === null) return null;
  url.searchParams.delete('sign_in_error');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  return code;
}

async function boot() {
  renderConnection();
  const problem = takeSignInProblem();
  try {
    const [methods, me] = await Promise.all([bff.methods(), bff.me()]);
    showSignInMethods(methods);
    if (me === null) {
      showSignIn();
      if (problem !== null) signInAlertAfterShow(signInProblem(problem, methods.oidc?.name ?? 'your identity provider'));
    } else {
      enterChat(me.user);
    }
  } catch (err) {
    showSignIn();
    if (!(err instanceof PerfBffError)) signInAlertAfterShow(offlineText('Could not reach the server.'));
  }
}

void boot();
