/** A response body that hands out `chunks` one read at a time, and says whether it was cancelled. */
export interface TestBody {
  stream: ReadableStream<Uint8Array>;
  /** How many chunks were read before the body ended or was cancelled. */
  readonly served: number;
  readonly cancelled: boolean;
}

export function bodyOf(...chunks: (string | Uint8Array)[]): TestBody {
  const encoder = new TextEncoder();
  const queue = chunks.map((chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk));
  const state = { served: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = queue[state.served];
        if (next === undefined) {
          controller.close();
          return;
        }
        state.served += 1;
        controller.enqueue(next);
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    get served() {
      return state.served;
    },
    get cancelled() {
      return state.cancelled;
    },
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
