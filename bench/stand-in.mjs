// The Perf stand-in in a process of its own. The bench switches its scenario over IPC between
// phases: a short JSON answer, a stream at once, a slow stream, a 100 MB stream.
import { createRequire } from 'node:module';
import { setInterval } from 'node:timers';

const require = createRequire(import.meta.url);
const { PerfStandIn } = require('../dist/dev/perf-stand-in.js');

const [portArg] = process.argv.slice(2);
const standIn = new PerfStandIn({ apiKeys: [process.env.BENCH_PERF_KEY ?? ''], defaults: {} });
// The stand-in records every request for the tests; under load that list would only grow.
setInterval(() => {
  standIn.requests.length = 0;
}, 500).unref();

process.on('message', (msg) => {
  if (msg?.type === 'defaults') {
    standIn.setDefaults(msg.defaults);
    standIn.requests.length = 0;
    process.send({ type: 'ok', seq: msg.seq });
  }
});
process.on('SIGTERM', () => {
  standIn.close().finally(() => process.exit(0));
});

const url = await standIn.listen(Number(portArg ?? 0), '127.0.0.1');
process.send({ type: 'ready', url });
