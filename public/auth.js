// @ts-check
/**
 * Signing in and out with POST /auth/login and /auth/logout, and choosing a password with
 * POST /auth/password. The session cookie is HttpOnly: this script never sees it and never needs to.
 */
import { bff } from './bff.js';
import { forgetConversation } from './conversation.js';
import { ui } from './dom.js';
import { clearNotice, showNotice, stopCountdown } from './notice.js';
import { page } from './page-state.js';
import { MIN_PASSWORD_LENGTH, PerfBffError } from './perf-bff-client.js';
import { forgetUsage, refreshUsage } from './usage.js';
import { afterShown, sessionEnded, showChat, showChoosePassword, showSignIn } from './views.js';
import { duration, offlineText, passwordChangeProblem } from './wording.js';

/** @import { User } from './views.js' */

/**
 * Opens the chat for a signed-in person and fetches what they have left; after a one-time
 * password, the form to choose one first (nothing else works until then).
 * @param {User} user
 */
export function enterChat(user) {
  if (user.must_change_password === true) {
    showChoosePassword(true, user);
    return;
  }
  showChat(user);
  void refreshUsage();
}

export async function signIn() {
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (username === '' || password === '') {
    ui.signInError.textContent = 'Enter your username and password.';
    (username === '' ? ui.username : ui.password).focus();
    return;
  }
  ui.signInError.textContent = '';
  ui.signInButton.disabled = true;
  ui.signInButton.textContent = 'Signing in…';
  try {
    const { user } = await bff.signIn(username, password);
    enterChat(user);
  } catch (err) {
    if (!(err instanceof PerfBffError)) {
      ui.signInError.textContent = offlineText('Could not reach the server to sign in.');
    } else if (err.status === 401) {
      ui.signInError.textContent = 'Wrong username or password.';
      ui.password.select();
      ui.password.focus();
    } else if (err.status === 429) {
      ui.signInError.textContent = `Too many sign-in attempts. Try again in ${duration(err.retryAfter ?? 60)}.`;
    } else {
      ui.signInError.textContent = 'Signing in is not possible right now. Try again in a moment.';
    }
  } finally {
    ui.signInButton.disabled = false;
    ui.signInButton.textContent = 'Sign in';
  }
}

/** The password form: the current password (a one-time one, or the person's own) and a new one. */
export async function choosePassword() {
  const current = ui.currentPassword.value;
  const chosen = ui.newPassword.value;
  /**
   * @param {string} text
   * @param {HTMLInputElement} field where the problem is
   */
  const refuse = (text, field) => {
    ui.choosePasswordError.textContent = text;
    field.select();
    field.focus();
  };
  if (current === '' || chosen.length < MIN_PASSWORD_LENGTH || chosen === current) {
    if (current === '') refuse('Enter your current password.', ui.currentPassword);
    else if (chosen === current) refuse('Choose a password other than the current one.', ui.newPassword);
    else refuse(`Your new password needs at least ${MIN_PASSWORD_LENGTH} characters.`, ui.newPassword);
    return;
  }
  ui.choosePasswordError.textContent = '';
  ui.choosePasswordButton.disabled = true;
  ui.choosePasswordButton.textContent = 'Saving…';
  try {
    const { user } = await bff.changePassword(current, chosen);
    enterChat(user);
    // The notice is the chat's, which has only just appeared.
    afterShown(() => {
      if (page.signedIn && !ui.chat.hidden && ui.noticeText.textContent === '') showNotice('Your new password is saved.');
    });
  } catch (err) {
    if (!(err instanceof PerfBffError))
      ui.choosePasswordError.textContent = offlineText('Could not reach the server to save your password.');
    else if (err.status === 401 && err.type !== 'invalid_credentials') sessionEnded();
    else if (err.type === 'invalid_credentials') refuse(passwordChangeProblem(err), ui.currentPassword);
    else if (err.status === 400) refuse(passwordChangeProblem(err), ui.newPassword);
    else ui.choosePasswordError.textContent = passwordChangeProblem(err);
  } finally {
    ui.choosePasswordButton.disabled = false;
    ui.choosePasswordButton.textContent = 'Save password';
  }
}

/** "Try without signing in": a guest session on the operator's guest plan. */
export async function signInAsGuest() {
  ui.signInError.textContent = '';
  ui.guestButton.disabled = true;
  try {
    const { user } = await bff.guest();
    enterChat(user);
  } catch (err) {
    if (!(err instanceof PerfBffError)) ui.signInError.textContent = offlineText('Could not reach the server.');
    else if (err.status === 429)
      ui.signInError.textContent = `Too many new sessions from here. Try again in ${duration(err.retryAfter ?? 60)}.`;
    else ui.signInError.textContent = 'Trying without an account is not possible right now.';
  } finally {
    ui.guestButton.disabled = false;
  }
}

export async function signOut() {
  // From here on, late answers (a usage refresh, the aborted stream) must not act on the page.
  page.signedIn = false;
  page.inFlight?.abort();
  ui.signOut.disabled = true;
  let endSessionUrl;
  try {
    ({ endSessionUrl } = await bff.signOut());
  } catch (err) {
    // 401: the session had already ended, which is what signing out wants.
    if (!(err instanceof PerfBffError) || err.status !== 401) {
      page.signedIn = true;
      const text =
        err instanceof PerfBffError
          ? 'Signing out did not work. Try again in a moment.'
          : offlineText('Could not reach the server to sign out.');
      // Said where the person is: the chat's notice, or the password form's alert.
      if (ui.choosePassword.hidden) showNotice(text);
      else ui.choosePasswordError.textContent = text;
      return;
    }
  } finally {
    ui.signOut.disabled = false;
  }
  // Nothing of the conversation outlives the session in this page.
  forgetConversation();
  ui.input.value = '';
  ui.password.value = '';
  forgetUsage();
  stopCountdown();
  clearNotice();
  // Signed in through the identity provider: its own session ends too, and it sends the browser back here.
  if (endSessionUrl !== undefined) {
    window.location.assign(endSessionUrl);
    return;
  }
  showSignIn('You have signed out.');
}
