import express from 'express';
import supertest from 'supertest';
import { helmetFor, securityHeaders } from '../src/http/security-headers';

/** The precomputed headers are exactly what helmet itself sets on a live answer. */
describe.each([false, true])('security headers (production: %s)', (production) => {
  const answer = (middleware: express.RequestHandler) => {
    const app = express();
    app.disable('x-powered-by');
    app.use(middleware);
    app.get('/', (_req, res) => {
      res.end('ok');
    });
    return supertest(app).get('/').expect(200);
  };
  const VARYING = new Set(['date', 'connection', 'content-length', 'keep-alive']);
  const withoutDateAndBody = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => !VARYING.has(name)));

  test('are the ones helmet sets, with nothing added or missing', async () => {
    const ours = await answer(securityHeaders({ production }));
    const helmets = await answer(helmetFor(production));
    expect(withoutDateAndBody(ours.headers as Record<string, string>)).toEqual(
      withoutDateAndBody(helmets.headers as Record<string, string>),
    );
    expect(ours.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(ours.headers['strict-transport-security'] !== undefined).toBe(production);
  });
});
