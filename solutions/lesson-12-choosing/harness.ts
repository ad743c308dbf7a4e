/** Step 4: running a workload: a warm-up first, then the operations that are measured. */
import { performance } from "node:perf_hooks";
import { since, type Meter, type Traffic } from "./meter.ts";
import { summarize, type Summary } from "./stats.ts";

/** One client of one transport, ready to run operations ("get user 123") one after another. */
export interface Session {
  /** One operation, resolved when its answer has come. */
  operation(): Promise<void>;
  close(): Promise<void>;
}

export interface MeasureOptions {
  /** Operations run first and not measured: connections opened, code compiled, caches warm. */
  warmup: number;
  /** Operations measured. */
  operations: number;
  /** How many operations are in flight at once. */
  concurrency: number;
}

export interface Measurement {
  /** Latency of each measured operation (ms). */
  latency: Summary;
  /** Measured operations per second. */
  throughput: number;
  /** Bytes per measured operation, each way. */
  perOperation: { bytesUp: number; bytesDown: number };
  /** Everything that crossed the wire while measuring, and the connections opened meanwhile. */
  traffic: Traffic;
}

/**
 * Runs `options.warmup` operations, then `options.operations` more with `options.concurrency` in
 * flight, and says how long each of those took and what they sent. The first operation that fails
 * rejects the whole measurement with its error, once the operations in flight have settled.
 */
export async function measure(
  session: Session,
  meter: Meter,
  options: MeasureOptions,
): Promise<Measurement> {
  const { warmup, operations, concurrency } = checked(options);

  // The warm-up is the same work, thrown away: the first operations pay for the connection, the
  // JIT and every cache, and would otherwise be counted as the transport's cost.
  await run(session, warmup, concurrency);

  const before = meter.read();
  const latencies: number[] = [];
  const started = performance.now();
  await run(session, operations, concurrency, (ms) => latencies.push(ms));
  const elapsedMs = performance.now() - started;
  const traffic = since(meter.read(), before);

  return {
    latency: summarize(latencies),
    throughput: operations / (elapsedMs / 1000),
    perOperation: {
      bytesUp: traffic.bytesUp / operations,
      bytesDown: traffic.bytesDown / operations,
    },
    traffic,
  };
}

/**
 * `count` operations, `concurrency` at a time: that many workers, each starting the next operation
 * when its last one has answered. `timed(ms)` hears each operation's latency.
 */
async function run(
  session: Session,
  count: number,
  concurrency: number,
  timed?: (ms: number) => void,
): Promise<void> {
  let started = 0;
  let failure: { error: unknown } | undefined;

  async function worker(): Promise<void> {
    while (started < count && failure === undefined) {
      started += 1;
      const start = performance.now();
      try {
        await session.operation();
      } catch (error) {
        failure ??= { error }; // the first failure is the one reported; the others stop with it
        return;
      }
      timed?.(performance.now() - start);
    }
  }

  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== undefined) throw failure.error;
}

function checked(options: MeasureOptions): MeasureOptions {
  const { warmup, operations, concurrency } = options;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(`warmup must be a whole number >= 0, got ${JSON.stringify(warmup)}`);
  }
  if (!Number.isInteger(operations) || operations < 1) {
    throw new RangeError(
      `operations must be a whole number >= 1, got ${JSON.stringify(operations)}`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a whole number >= 1, got ${JSON.stringify(concurrency)}`,
    );
  }
  return options;
}
