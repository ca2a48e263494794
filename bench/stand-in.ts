// The Perf stand-in in a process of its own. The bench switches its scenario over IPC between
// phases: a short JSON answer, a stream at once, a slow stream, a 100 MB stream.
import { setInterval } from 'node:timers';
import { PerfStandIn } from '../src/dev/perf-stand-in';
import type { Scenario } from '../src/dev/perf-stand-in';
import { isMessage } from './lib/procs';

/** bench/run.ts → stand-in: answer with these defaults from now on. */
export interface DefaultsMessage {
  type: 'defaults';
  defaults: Scenario;
  seq: number;
}

/** stand-in → bench/run.ts */
export type StandInMessage = { type: 'ready'; url: string } | { type: 'ok'; seq: number };

function send(msg: StandInMessage): void {
  if (process.send === undefined) throw new Error('bench/stand-in runs as a child of bench/run (it needs the IPC channel)');
  process.send(msg);
}

const [portArg] = process.argv.slice(2);
const standIn = new PerfStandIn({ apiKeys: [process.env.BENCH_PERF_KEY ?? ''], defaults: {} });
// The stand-in records every request for the tests; under load that list would only grow.
setInterval(() => {
  standIn.requests.length = 0;
}, 500).unref();

process.on('message', (msg: unknown) => {
  if (isMessage<DefaultsMessage>(msg, 'defaults')) {
    standIn.setDefaults(msg.defaults);
    standIn.requests.length = 0;
    send({ type: 'ok', seq: msg.seq });
  }
});
process.on('SIGTERM', () => {
  void standIn.close().finally(() => process.exit(0));
});

standIn.listen(Number(portArg ?? 0), '127.0.0.1').then(
  (url) => send({ type: 'ready', url }),
  (err: unknown) => {
    process.stderr.write(`stand-in: cannot listen: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
