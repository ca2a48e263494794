import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { settingsSchema } from '../src/config/settings';

/*
 * app.json (the Deploy button), .env.example and the Procfile describe the same settings the
 * code reads: none missing, none invented, every value given valid.
 */

const ROOT = path.join(__dirname, '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'app.json'), 'utf8')) as {
  env: Record<string, { value?: string; generator?: string; required?: boolean; description: string }>;
  addons: { plan: string; as?: string }[];
};
const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const settings = Object.keys(settingsSchema.shape);
/** Set by the platform, not by the operator. */
const PLATFORM = ['DYNO', 'PORT', 'REDIS_URL'];

describe('app.json', () => {
  test('offers every setting the code reads, and only those', () => {
    const offered = Object.keys(manifest.env);
    expect(offered.filter((name) => !settings.includes(name))).toEqual([]);
    expect(settings.filter((name) => !offered.includes(name) && !PLATFORM.includes(name))).toEqual([]);
  });

  test('provisions Redis, generates the session secret, asks for the key, names the first user', () => {
    expect(manifest.addons.map((a) => a.plan)).toContain('heroku-redis:mini');
    expect(manifest.env.SESSION_SECRET?.generator).toBe('secret');
    expect(manifest.env.PERF_API_KEY).toMatchObject({ required: true });
    expect(manifest.env.PERF_API_KEY?.value).toBeUndefined();
    expect(manifest.env.ADMIN_USERNAME?.value).toBe('admin');
    expect(manifest.env.NODE_ENV?.value).toBe('production');
  });

  test('its values make a valid production configuration with router-safe timeouts', () => {
    const env: Record<string, string> = {
      DYNO: 'web.1',
      PORT: '5000',
      REDIS_URL: 'rediss://h:6380',
      PERF_API_KEY: 'pk_test_manifest_0001',
    };
    for (const [name, entry] of Object.entries(manifest.env)) {
      if (entry.value !== undefined) env[name] = entry.value;
      if (entry.generator === 'secret') env[name] = 'f'.repeat(64);
    }
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.upstreamTimeoutMs).toBeLessThan(30_000);
    expect(config.streamHeartbeatMs).toBeLessThan(30_000);
    expect(config.shutdownTimeoutMs).toBeLessThan(30_000);
    expect(config.trustProxy).toBe(1);
    expect(config.redisTlsRejectUnauthorized).toBe(false);
  });
});

test('.env.example lists every setting the operator may set', () => {
  const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  expect(settings.filter((name) => !listed.includes(name) && name !== 'DYNO')).toEqual([]);
  expect(listed.filter((name) => name !== undefined && !settings.includes(name))).toEqual([]);
});

test('the Procfile runs the release phase before the web process, from the compiled code', () => {
  const procfile = readFileSync(path.join(ROOT, 'Procfile'), 'utf8');
  expect(procfile).toMatch(/^release: node dist\/cli\/bootstrap\.js$/m);
  expect(procfile).toMatch(/^web: node dist\/server\.js$/m);
});
