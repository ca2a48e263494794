// @ts-check
/**
 * Plain-words text used by more than one part of the page. Messages used in one place only stay
 * next to the code that shows them.
 */
import { MIN_PASSWORD_LENGTH } from './perf-bff-client.js';

/** @param {number} seconds */
export function duration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** @param {string} reachFailure what failed while the browser says it is online */
export function offlineText(reachFailure) {
  return navigator.onLine
    ? `${reachFailure} Check your connection and try again.`
    : 'You are offline. Nothing can be sent until the connection is back.';
}

/** @param {{ type: string, retryAfter?: number | undefined }} error a PerfBffError, or its like */
export function serverProblem(error) {
  switch (error.type) {
    case 'upstream_timeout':
      return 'The model took too long to answer.';
    case 'upstream_rate_limited':
      return `The model service is busy. Try again${error.retryAfter === undefined ? ' shortly' : ` in ${duration(error.retryAfter)}`}.`;
    case 'upstream_error':
    case 'upstream_unavailable':
    case 'upstream_auth_failed':
      return 'The model service could not answer.';
    case 'service_unavailable':
      return 'The service is temporarily unavailable.';
    default:
      return 'Something went wrong on the server.';
  }
}

/**
 * Why a sign-in with the identity provider did not complete (the server's ?sign_in_error=… code).
 * @param {string} code
 * @param {string} provider its name, as the sign-in button shows it
 */
export function signInProblem(code, provider) {
  switch (code) {
    case 'denied':
      return `Signing in with ${provider} was cancelled or not allowed. You can try again.`;
    case 'expired':
      return 'That sign-in took too long, or was already used. Start again.';
    case 'invalid':
      return `The answer from ${provider} could not be checked, so you are not signed in. Start again.`;
    case 'provider_unavailable':
      return `${provider} could not be reached. Try again in a moment.`;
    case 'email_domain':
      return `Your ${provider} account's email address is not one this service accepts.`;
    default:
      return 'Signing in is not possible right now. Try again in a moment.';
  }
}

/**
 * Why a new password was refused (POST /auth/password), for the password form's alert. A 401 other
 * than invalid_credentials is an ended session, which the form does not explain itself.
 * @param {{ status: number, type: string, retryAfter?: number | undefined }} error a PerfBffError, or its like
 */
export function passwordChangeProblem(error) {
  if (error.type === 'invalid_credentials') return 'The current password is wrong.';
  if (error.status === 429) return `Too many attempts. Try again in ${duration(error.retryAfter ?? 60)}.`;
  if (error.status === 400) return `Choose a new password of at least ${MIN_PASSWORD_LENGTH} characters, other than the current one.`;
  if (error.status === 403 && error.type === 'unauthorized') return 'This account has no password to change here.';
  return 'Saving a new password is not possible right now. Try again in a moment.';
}
