/**
 * One push row, measured: its server, the network in front of it, `subscribers` subscribers
 * through the network, then `updates` updates published on a steady beat.
 *
 *   publish(i) ── t0 ──▶ server ══ network ══▶ subscriber 1 ── received(i) at t1
 *                                         ══▶ subscriber 2 ── received(i) at t2 ...
 *
 * Everything runs in this one process, so t0 and each t are read from one clock
 * (performance.now()): a delivery's latency is t - t0, with no clocks to keep in step.
 *
 * Before the measured updates comes a warm-up: updates are published one at a time until every
 * subscriber has had one. A subscription that has "started" is not always ready (a gRPC call is
 * in the room only once the server has run its handler; a short poller hears of an update at its
 * next poll), and a warm-up both waits for that and leaves the code compiled and the
 * connections open. The meter's reading just before the measured updates is subtracted from the
 * one after: the bytes of the subscriptions' setup are not an update's.
 */
import { performance } from "node:perf_hooks";
import { Meter, since, type Traffic } from "#lesson/lesson-12-choosing/meter.ts";
import { startNetwork } from "#lesson/lesson-12-choosing/network.ts";
import { summarize, type Summary } from "#lesson/lesson-12-choosing/stats.ts";
import type { PushTransport } from "./transport.ts";

export interface FanoutOptions {
  rttMs: number;
  subscribers: number;
  updates: number;
  /** The time between two updates (ms): the offered load is subscribers / gapMs deliveries a ms. */
  gapMs: number;
  /** After the last update, how long the slowest subscriber may take at most (ms). */
  drainMs: number;
  /** How long a warm-up update may take to reach every subscriber before another is sent (ms). */
  warmupWaitMs: number;
}

export interface FanoutResult {
  name: string;
  lesson: string;
  /** Latency from publish to each subscriber's receipt (ms), over every delivery. */
  latency: Summary;
  /** Deliveries that came, out of updates × subscribers; and those that came twice. */
  delivered: number;
  expected: number;
  duplicates: number;
  /** Bytes on the subscribers' connections while the measured updates went out, per update. */
  bytesPerUpdate: number;
  /** Connections the subscribers opened, from their first subscription to the end. */
  connections: number;
  /** Deliveries per second, from the first measured publish to the last delivery. */
  throughput: number;
  traffic: Traffic;
}

/** A warm-up update on its way: the subscribers it (or a later one) has reached. */
interface Waiting {
  index: number;
  reached: Set<number>;
  done: () => void;
}

/** The most warm-up updates sent before the row is declared unable to reach its subscribers. */
const MAX_WARMUP_UPDATES = 10;

export async function runFanout(row: PushTransport, options: FanoutOptions): Promise<FanoutResult> {
  const { subscribers, updates, gapMs } = options;
  const server = await row.start();
  const meter = new Meter();
  const network = await startNetwork(
    { host: "127.0.0.1", port: server.port },
    { rttMs: options.rttMs, meter },
  );
  const publishedAt = new Map<number, number>();
  const latencies: number[] = [];
  /** Per subscriber, the indexes it has had. */
  const seen = Array.from({ length: subscribers }, () => new Set<number>());
  let duplicates = 0;
  let last = 0;
  let waiting: Waiting | undefined;
  const measured = { from: Number.POSITIVE_INFINITY, remaining: updates * subscribers };
  let allDelivered!: () => void;
  const complete = new Promise<void>((resolve) => (allDelivered = resolve));

  function received(subscriber: number, index: number): void {
    const at = performance.now();
    const mine = seen[subscriber] as Set<number>;
    if (mine.has(index)) {
      duplicates++;
      return;
    }
    mine.add(index);
    if (waiting !== undefined && index >= waiting.index) {
      waiting.reached.add(subscriber);
      if (waiting.reached.size === subscribers) waiting.done();
    }
    if (index < measured.from) return; // a warm-up update
    latencies.push(at - (publishedAt.get(index) as number));
    last = at;
    if (--measured.remaining === 0) allDelivered();
  }

  const subscriptions = [];
  try {
    for (let s = 0; s < subscribers; s++) {
      subscriptions.push(await row.subscribe(network.port, (index) => received(s, index)));
    }
    const next = await warmUp(row, server.publish.bind(server), subscribers, options, (w) => {
      waiting = w;
    });
    waiting = undefined;
    measured.from = next;

    // The measured updates, on a steady beat; each publish is not awaited before the next, so a
    // slow acknowledgement does not push the beat back.
    const before = meter.read();
    const started = performance.now();
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < updates; i++) {
      const wait = started + i * gapMs - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const index = next + i;
      publishedAt.set(index, performance.now());
      publishes.push(server.publish(index));
    }
    await Promise.all(publishes);
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      complete,
      new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, options.drainMs))),
    ]);
    clearTimeout(drainTimer);
    const traffic = since(meter.read(), before);
    const delivered = latencies.length;
    return {
      name: row.name,
      lesson: row.lesson,
      latency: summarize(latencies),
      delivered,
      expected: updates * subscribers,
      duplicates,
      bytesPerUpdate: (traffic.bytesUp + traffic.bytesDown) / updates,
      connections: meter.read().connections,
      throughput: delivered / ((last - started) / 1000),
      traffic,
    };
  } finally {
    for (const subscription of subscriptions) await subscription.close();
    await network.close();
    await server.close();
  }
}

/**
 * Publishes warm-up updates 0, 1, ... one at a time, each given `warmupWaitMs` to reach every
 * subscriber, until one has; returns the index the measured updates start from.
 */
async function warmUp(
  row: PushTransport,
  publish: (index: number) => Promise<void>,
  subscribers: number,
  options: FanoutOptions,
  watch: (waiting: Waiting) => void,
): Promise<number> {
  for (let index = 0; index < MAX_WARMUP_UPDATES; index++) {
    let timer: NodeJS.Timeout | undefined;
    const reached = await new Promise<boolean>((resolve) => {
      watch({ index, reached: new Set(), done: () => resolve(true) });
      timer = setTimeout(() => resolve(false), options.warmupWaitMs);
      void publish(index);
    });
    clearTimeout(timer);
    if (reached) return index + 1;
  }
  throw new Error(
    `${row.name}: after ${MAX_WARMUP_UPDATES} warm-up updates, some of the ${subscribers} subscribers had none`,
  );
}
