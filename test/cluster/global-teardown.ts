import type { LocalCluster } from './local-cluster';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { perfBffCluster?: LocalCluster }).perfBffCluster?.stop();
}
