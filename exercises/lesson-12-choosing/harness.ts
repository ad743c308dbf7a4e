/** Step 4: running a workload: a warm-up first, then the operations that are measured. */
import type { Meter, Traffic } from "./meter.ts";
import type { Summary } from "./stats.ts";
import { todo } from "#shared/todo.ts";

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
  /** Bytes per measured operation, each way, and the connections opened while measuring. */
  perOperation: { bytesUp: number; bytesDown: number };
  traffic: Traffic;
}

/**
 * Runs `options.warmup` operations, then `options.operations` more with `options.concurrency` in
 * flight, and says how long each of those took and what they sent.
 */
export function measure(
  session: Session,
  meter: Meter,
  options: MeasureOptions,
): Promise<Measurement> {
  // TODO: First the warm-up, the same operations, neither timed nor counted. Then read the meter,
  // and run the measured operations, never more than `concurrency` at once and each started as
  // soon as one ends, timing each with performance.now(). Throughput is operations per second of
  // that run; the traffic is what the meter counted during it (since()), and per operation its
  // bytes divided by the operations. An operation that fails rejects measure() with its error.
  return todo("lesson-12-choosing", "measure()", "Step 4");
}
