// @ts-check
/**
 * Every element of index.html the script works with, looked up once. A missing id fails loudly
 * at load instead of as a null somewhere later.
 */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`The page is missing #${id}`);
  return node;
}

export const ui = {
  skipLink: byId('skip-link', HTMLAnchorElement),
  loading: byId('loading', HTMLElement),
  status: byId('status', HTMLElement),
  account: byId('account', HTMLElement),
  accountName: byId('account-name', HTMLElement),
  changePassword: byId('change-password', HTMLButtonElement),
  signOut: byId('sign-out', HTMLButtonElement),
  connection: byId('connection', HTMLElement),
  signIn: byId('sign-in', HTMLElement),
  signInReason: byId('sign-in-reason', HTMLElement),
  signInForm: byId('sign-in-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  signInError: byId('sign-in-error', HTMLElement),
  providerSignIn: byId('provider-sign-in', HTMLElement),
  providerLink: byId('provider-link', HTMLAnchorElement),
  signInOr: byId('sign-in-or', HTMLElement),
  guestSignIn: byId('guest-sign-in', HTMLElement),
  guestButton: byId('guest-button', HTMLButtonElement),
  signInButton: byId('sign-in-button', HTMLButtonElement),
  choosePassword: byId('choose-password', HTMLElement),
  choosePasswordReason: byId('choose-password-reason', HTMLElement),
  choosePasswordError: byId('choose-password-error', HTMLElement),
  choosePasswordForm: byId('choose-password-form', HTMLFormElement),
  choosePasswordUsername: byId('choose-password-username', HTMLInputElement),
  currentPassword: byId('current-password', HTMLInputElement),
  newPassword: byId('new-password', HTMLInputElement),
  choosePasswordButton: byId('choose-password-button', HTMLButtonElement),
  choosePasswordCancel: byId('choose-password-cancel', HTMLButtonElement),
  chat: byId('chat', HTMLElement),
  empty: byId('empty', HTMLElement),
  /** The live region (role="log") around the list of messages. */
  log: byId('log', HTMLElement),
  messages: byId('messages', HTMLOListElement),
  notice: byId('notice', HTMLElement),
  noticeText: byId('notice-text', HTMLElement),
  countdown: byId('countdown', HTMLElement),
  retry: byId('retry', HTMLButtonElement),
  composer: byId('composer', HTMLFormElement),
  input: byId('composer-input', HTMLTextAreaElement),
  stop: byId('stop', HTMLButtonElement),
  send: byId('send', HTMLButtonElement),
};
