import { emailAllowed, oidcUserId } from '../src/auth/oidc/identity';
import { USERNAME_PATTERN } from '../src/auth/usernames';

describe("an identity provider's user, as perf-bff names and admits them", () => {
  test('the id is namespaced by issuer and sub: the same sub from two providers is two users', () => {
    const a = oidcUserId('https://a.example', 'user-1');
    const b = oidcUserId('https://b.example', 'user-1');
    expect(a).toMatch(/^oidc:[0-9a-f]{8}:user-1$/);
    expect(a).not.toBe(b);
    expect(oidcUserId('https://a.example', 'user-1')).toBe(a);
  });

  test('an id can never be a local username, and a sub with unusual characters is hashed', () => {
    expect(USERNAME_PATTERN.test(oidcUserId('https://a.example', 'alice'))).toBe(false);
    expect(oidcUserId('https://a.example', 'auth0|abc123')).toMatch(/:auth0\|abc123$/);
    expect(oidcUserId('https://a.example', 'we{ird} sub')).toMatch(/^oidc:[0-9a-f]{8}:h-[0-9a-f]{32}$/);
  });

  test.each([
    [[], { sub: 's' }, true],
    [['example.com'], { sub: 's', email: 'a@example.com', emailVerified: true }, true],
    [['example.com'], { sub: 's', email: 'A@EXAMPLE.COM' }, true],
    [['example.com'], { sub: 's', email: 'a@example.com', emailVerified: false }, false],
    [['example.com'], { sub: 's', email: 'a@evil-example.com' }, false],
    [['example.com'], { sub: 's', email: 'a@example.com.evil.net' }, false],
    [['example.com'], { sub: 's' }, false],
  ])('with allowed domains %j, %j may sign in: %s', (domains, claims, allowed) => {
    expect(emailAllowed(claims, domains)).toBe(allowed);
  });
});
