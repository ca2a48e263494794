import { duration, passwordChangeProblem, serverProblem } from '../../public/wording.js';

describe('duration: a wait in plain words', () => {
  test.each([
    [0, '0 s'],
    [1, '1 s'],
    [59, '59 s'],
    [60, '1 min 00 s'],
    [61, '1 min 01 s'],
    [605, '10 min 05 s'],
    [3599, '59 min 59 s'],
    [3600, '1 h 00 min'],
    [3661, '1 h 01 min'],
    [86_399, '23 h 59 min'],
    [90_000, '25 h 00 min'],
  ])('when it is %p seconds, says "%s"', (seconds, words) => {
    expect(duration(seconds)).toBe(words);
  });

  test('when the seconds have a fraction, rounds up: a wait is never said shorter than it is', () => {
    expect(duration(0.2)).toBe('1 s');
    expect(duration(59.01)).toBe('1 min 00 s');
    expect(duration(3599.5)).toBe('1 h 00 min');
  });

  test('when the wait is already over (negative), says "0 s"', () => {
    expect(duration(-5)).toBe('0 s');
  });
});

describe('serverProblem: a refused or failed call in plain words', () => {
  test.each([
    ['upstream_timeout', 'The model took too long to answer.'],
    ['upstream_error', 'The model service could not answer.'],
    ['upstream_unavailable', 'The model service could not answer.'],
    ['upstream_auth_failed', 'The model service could not answer.'],
    ['service_unavailable', 'The service is temporarily unavailable.'],
    ['internal_error', 'Something went wrong on the server.'],
    ['a_type_from_the_future', 'Something went wrong on the server.'],
  ])('when the type is %s, says "%s"', (type, words) => {
    expect(serverProblem({ type })).toBe(words);
  });

  test('when Perf is rate limited and the server says how long to wait, says when to try again', () => {
    expect(serverProblem({ type: 'upstream_rate_limited', retryAfter: 30 })).toBe('The model service is busy. Try again in 30 s.');
    expect(serverProblem({ type: 'upstream_rate_limited', retryAfter: 90 })).toBe('The model service is busy. Try again in 1 min 30 s.');
  });

  test('when Perf is rate limited and no wait is known, says to try again shortly', () => {
    expect(serverProblem({ type: 'upstream_rate_limited' })).toBe('The model service is busy. Try again shortly.');
    expect(serverProblem({ type: 'upstream_rate_limited', retryAfter: undefined })).toBe('The model service is busy. Try again shortly.');
  });
});

describe('passwordChangeProblem: a refused new password in plain words', () => {
  test.each([
    [401, 'invalid_credentials', 'The current password is wrong.'],
    [400, 'invalid_request', 'Choose a new password of at least 8 characters, other than the current one.'],
    [403, 'unauthorized', 'This account has no password to change here.'],
    [403, 'csrf_rejected', 'Saving a new password is not possible right now. Try again in a moment.'],
    [503, 'service_unavailable', 'Saving a new password is not possible right now. Try again in a moment.'],
    [500, 'internal_error', 'Saving a new password is not possible right now. Try again in a moment.'],
  ])('when the server answers %i %s, says "%s"', (status, type, words) => {
    expect(passwordChangeProblem({ status, type })).toBe(words);
  });

  test('when there were too many attempts, says how long to wait (a minute when the server did not say)', () => {
    expect(passwordChangeProblem({ status: 429, type: 'too_many_attempts', retryAfter: 90 })).toBe(
      'Too many attempts. Try again in 1 min 30 s.',
    );
    expect(passwordChangeProblem({ status: 429, type: 'too_many_attempts' })).toBe('Too many attempts. Try again in 1 min 00 s.');
  });
});
