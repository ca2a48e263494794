import { routeLabel } from '../src/http/metrics-route';

describe('route labels in /metrics', () => {
  test.each([
    ['POST', '/api/chat'],
    ['POST', '/api/v1/chat/completions'],
    ['GET', '/api/usage'],
    ['POST', '/auth/guest'],
    ['GET', '/auth/methods'],
    ['GET', '/auth/oidc/login'],
    ['GET', '/auth/oidc/callback'],
    ['POST', '/auth/password'],
  ])('%s %s is counted under its own path', (method, path) => {
    expect(routeLabel(method, path, 200)).toBe(path);
  });

  test('anything else is "static" (a page file) or "other": the labels stay few whatever is asked', () => {
    expect(routeLabel('GET', '/app.js', 200)).toBe('static');
    expect(routeLabel('GET', '/no/such/thing', 404)).toBe('other');
    expect(routeLabel('POST', '/api/chat/../../etc', 404)).toBe('other');
  });
});
