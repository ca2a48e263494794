// @ts-check
/**
 * Which screen shows: the chat once signed in, the sign-in form otherwise, and the form to choose
 * a password after a one-time password (or when a password user asks for it).
 */
import { updateEmpty } from './conversation.js';
import { ui } from './dom.js';
import { clearNotice } from './notice.js';
import { page } from './page-state.js';

/** @typedef {import('./perf-bff-client.js').User} User */

/** A password user (not a guest, nor someone from the identity provider) may change their password. */
let mayChangePassword = false;

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
 * Shows one of main's screens (the sign-in form, the password form, the chat) and hides the others.
 * @param {HTMLElement} screen
 */
function showScreen(screen) {
  ui.loading.hidden = true;
  for (const each of [ui.signIn, ui.choosePassword, ui.chat]) each.hidden = each !== screen;
  // The skip link's target, the message box, is hidden with the chat; the status line is the chat's too.
  ui.skipLink.hidden = screen !== ui.chat;
  ui.status.hidden = screen !== ui.chat;
  ui.account.hidden = screen === ui.signIn;
  ui.changePassword.hidden = screen !== ui.chat || !mayChangePassword;
  // Passwords typed into the password form do not outlive it.
  if (screen !== ui.choosePassword) {
    ui.currentPassword.value = '';
    ui.newPassword.value = '';
  }
}

/**
 * Says in the top bar who is signed in.
 * @param {User} user
 */
function showAccount(user) {
  ui.accountName.textContent =
    user.guest === true ? 'Trying without an account' : `Signed in as ${user.name ?? user.email ?? user.username}`;
  // Guests (guest:…) and the identity provider's users (oidc:…) have no password here.
  mayChangePassword = !user.username.includes(':');
  // Kept for signing in again after a session ends (a password user's name only).
  if (mayChangePassword) ui.username.value = user.username;
  ui.choosePasswordUsername.value = user.username;
  ui.password.value = '';
  ui.signInError.textContent = '';
}

/**
 * Shows the chat. The caller refreshes the status line: that needs the server, this does not.
 * @param {User} user
 */
export function showChat(user) {
  page.signedIn = true;
  showAccount(user);
  backToChat();
}

/** The chat again, as it was left (the password form's "Back to the chat"). */
export function backToChat() {
  showScreen(ui.chat);
  updateEmpty();
  ui.input.focus();
}

/**
 * The form to choose a password.
 * @param {boolean} required signed in with a one-time password: nothing else works until then;
 *   otherwise asked for from the top bar, and "Back to the chat" leaves it
 * @param {User} [user] who signed in (when not given, the top bar says so already)
 */
export function showChoosePassword(required, user) {
  page.signedIn = true;
  if (user !== undefined) showAccount(user);
  showScreen(ui.choosePassword);
  ui.choosePasswordReason.textContent = required
    ? 'You signed in with a one-time password. Choose your own to continue; the one-time password then stops working.'
    : 'Choose a new password. Your sessions in other browsers and on other devices then end.';
  ui.choosePasswordCancel.hidden = required;
  ui.choosePasswordError.textContent = '';
  ui.choosePasswordButton.disabled = false;
  ui.choosePasswordButton.textContent = 'Save password';
  ui.currentPassword.value = '';
  ui.newPassword.value = '';
  ui.currentPassword.focus();
}

/**
 * @param {string} [reason] said above the form (why the person is here again); the fields are
 *   described by it, so a screen reader says it with the field that gets focus
 */
export function showSignIn(reason) {
  page.signedIn = false;
  showScreen(ui.signIn);
  ui.signInReason.hidden = reason === undefined;
  ui.signInReason.textContent = reason ?? '';
  ui.signInButton.disabled = false;
  ui.signInButton.textContent = 'Sign in';
  if (ui.signInForm.hidden) ui.providerLink.focus();
  else (ui.username.value === '' ? ui.username : ui.password).focus();
}

/**
 * Runs `action` once a screen that has only just appeared has been rendered: an alert revealed in
 * the same tick as its text is not announced, so the text comes a frame later.
 * @param {() => void} action
 */
export function afterShown(action) {
  requestAnimationFrame(() => {
    setTimeout(action, 0);
  });
}

/**
 * Shows a problem in the sign-in form's alert when the form has only just appeared.
 * @param {string} text
 */
export function signInAlertAfterShow(text) {
  afterShown(() => {
    if (!ui.signIn.hidden && ui.signInError.textContent === '') ui.signInError.textContent = text;
  });
}

/** The session is gone (expired, signed out elsewhere): sign in again, keeping what was typed. */
export function sessionEnded() {
  if (!page.signedIn) return;
  page.inFlight?.abort();
  clearNotice();
  showSignIn('Your session has ended. Sign in again to continue; your conversation and the text you typed are kept.');
}

/**
 * The server wants a password of the person's own first (403 password_change_required): they
 * signed in with a one-time password, in another tab perhaps. What was typed stays in the chat.
 */
export function passwordChangeRequired() {
  if (!page.signedIn || !ui.choosePassword.hidden) return;
  page.inFlight?.abort();
  clearNotice();
  showChoosePassword(true);
}
