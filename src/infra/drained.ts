import type { Writable } from 'node:stream';

/** Resolves when a writable that refused more data can take it again, or has gone away. */
export function drained(stream: Writable): Promise<void> {
  // Already gone: neither 'drain' nor 'close' will come again.
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
