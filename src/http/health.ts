import { Router } from 'express';

export interface HealthDeps {
  /** Resolves true when every backing service answers in time. */
  ready: () => Promise<boolean>;
  shuttingDown: () => boolean;
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', function healthz(_req, res) {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async function readyz(_req, res) {
    res.set('Cache-Control', 'no-store');
    if (deps.shuttingDown()) {
      res.status(503).json({ status: 'shutting_down' });
      return;
    }
    const ok = await deps.ready();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'redis_unavailable' });
  });
  return router;
}
