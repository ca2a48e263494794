// @ts-check
/**
 * Which screen shows: the chat once signed in, the sign-in form otherwise.
 */
import { updateEmpty } from './conversation.js';
import { ui } from './dom.js';
import { clearNotice } from './notice.js';
import { page } from './page-state.js';

/** @typedef {{ username: string, name?: string, email?: string, guest?: true }} User */

/**
 * Offers the ways to sign in the server has: its identity provider, a password, or both.
 * @param {{ password: boolean, guest?: boolean, oidc: { name: string, login_url: string } | null }} methods
 */
export function showSignInMethods(methods) {
  ui.guestSignIn.hidden = methods.guest !== true;
  ui.providerSignIn.hidden = methods.oidc === null;
  if (methods.oidc !== null) {
    ui.providerLink.href = methods.oidc.login_url;
    ui.providerLink.textContent = `Sign in with ${methods.oidc.name}`;
  }
  ui.signInForm.hidden = !methods.password;
  ui.signInOr.hidden = methods.oidc === null || !methods.password;
}

/**
 * Shows the chat. The caller refreshes the status line: that needs the server, this does not.
 * @param {User} user
 */
export function showChat(user) {
  page.signedIn = true;
  ui.loading.hidden = true;
  ui.signIn.hidden = true;
  ui.chat.hidden = false;
  ui.skipLink.hidden = false;
  ui.account.hidden = false;
  ui.status.hidden = false;
  ui.accountName.textContent =
    user.guest === true ? 'Trying without an account' : `Signed in as ${user.name ?? user.email ?? user.username}`;
  // Kept for signing in again after a session ends (a password user's name only).
  if (!user.username.includes(':')) ui.username.value = user.username;
  ui.password.value = '';
  ui.signInError.textContent = '';
  updateEmpty();
  ui.input.focus();
}

/**
 * @param {string} [reason] said above the form (why the person is here again); the fields are
 *   described by it, so a screen reader says it with the field that gets focus
 */
export function showSignIn(reason) {
  page.signedIn = false;
  ui.loading.hidden = true;
  ui.chat.hidden = true;
  // Its target, the message box, is hidden with the chat.
  ui.skipLink.hidden = true;
  ui.account.hidden = true;
  ui.status.hidden = true;
  ui.signIn.hidden = false;
  ui.signInReason.hidden = reason === undefined;
  ui.signInReason.textContent = reason ?? '';
  ui.signInButton.disabled = false;
  ui.signInButton.textContent = 'Sign in';
  if (ui.signInForm.hidden) ui.providerLink.focus();
  else (ui.username.value === '' ? ui.username : ui.password).focus();
}

/**
 * Shows a problem in the sign-in form's alert when the form has only just appeared: an alert
 * revealed in the same tick as its text is not announced, so the text comes a frame later.
 * @param {string} text
 */
export function signInAlertAfterShow(text) {
  requestAnimationFrame(() => {
    setTimeout(() => {
      if (!ui.signIn.hidden && ui.signInError.textContent === '') ui.signInError.textContent = text;
    }, 0);
  });
}

/** The session is gone (expired, signed out elsewhere): sign in again, keeping what was typed. */
export function sessionEnded() {
  if (!page.signedIn) return;
  page.inFlight?.abort();
  clearNotice();
  showSignIn('Your session has ended. Sign in again to continue; your conversation and the text you typed are kept.');
}
