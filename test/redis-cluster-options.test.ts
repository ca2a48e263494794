import { clusterOptions, TOPOLOGY_REFRESH_AFTER_MS } from '../src/infra/redis-cluster';

describe('the connection options of a Redis Cluster', () => {
  test("every node gets the first seed's user, password and TLS, never a seed's URL; reads stay on masters", () => {
    const options = clusterOptions({
      urls: ['rediss://app:p%40ss%3Aword@node-a:7000', 'rediss://app:p%40ss%3Aword@node-b:7000'],
      tlsRejectUnauthorized: false,
    });
    expect(options.rootNodes).toEqual([
      { url: 'rediss://app:p%40ss%3Aword@node-a:7000' },
      { url: 'rediss://app:p%40ss%3Aword@node-b:7000' },
    ]);
    expect(options.defaults).toMatchObject({
      username: 'app',
      password: 'p@ss:word',
      disableOfflineQueue: true,
      socket: { tls: true, rejectUnauthorized: false },
    });
    expect(options.defaults).not.toHaveProperty('url');
    expect(options).toMatchObject({ useReplicas: false, topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_AFTER_MS });
  });

  test('plain redis:// without a password: no TLS and no credentials; certificates are checked by default', () => {
    const { defaults } = clusterOptions({ urls: ['redis://node-a:7000'], tlsRejectUnauthorized: true });
    expect(defaults).not.toHaveProperty('password');
    expect(defaults).not.toHaveProperty('username');
    expect(defaults?.socket).not.toHaveProperty('tls');
    expect(clusterOptions({ urls: ['rediss://node-a:7000'], tlsRejectUnauthorized: true }).defaults?.socket).toMatchObject({
      tls: true,
      rejectUnauthorized: true,
    });
  });
});
