/**
 * A delivery benchmark: one stream of messages, published on a schedule, delivered to several
 * consumers side by side, each reading with its own strategy (short polling, long polling, and in
 * later lessons Server-Sent Events and WebSockets). For each strategy it measures:
 *
 *   requests     HTTP requests (and upgrades) the consumer made
 *   connections  TCP connections the consumer opened
 *   bytes        bytes on the consumer's connections, both directions, HTTP heads included
 *                (socket.bytesRead + socket.bytesWritten; TCP/IP headers are not counted)
 *   latency      from the moment the server accepted a message to the moment the consumer had it
 *
 * Each strategy gets a target of its own (a server with its own store), so that no consumer's
 * requests slow down or count against another's; the publisher posts every message to each
 * target at the same moment, through a second server on the same store, so that its bytes are not
 * counted. Everything runs in this one process, so the times come from one clock.
 *
 * A lesson's bench lists its strategies, each with the target it reads from, then calls
 * runDelivery() and printDelivery(). A later lesson adds rows by importing an earlier lesson's
 * strategies and putting its own beside them: each row brings its own server, so the rows need
 * not share one. Figures are printed, never asserted: they depend on the machine.
 */
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { seededRandom } from "../random.ts";
import { startMetered, type Metered } from "./wire.ts";

/** A server under test, with a message store of its own. */
export interface DeliveryTarget {
  /**
   * A new unstarted server over the target's store. The harness makes two: consumers connect to
   * the first (the one measured), the publisher to the second.
   */
  createServer(): net.Server;
  /** Publishes message number `index` (0, 1, ...) to the server at `origin`, e.g. by a POST. */
  publish(origin: string, index: number): Promise<void>;
  /** Calls `accepted(id)` at the moment the store accepts each message. */
  onAccepted(accepted: (id: number) => void): void;
}

export interface ConsumeOptions {
  /** The measured server: `http://127.0.0.1:<port>`. */
  origin: string;
  /** Aborted when the run is over: the consumer stops and returns. */
  signal: AbortSignal;
  /** The consumer calls this as soon as it has a message. */
  delivered(id: number): void;
}

export interface DeliveryStrategy {
  /** The row's name: "long poll, wait up to 25 s". */
  name: string;
  /** A new target (server and store) for this row alone: the polling feed, an SSE server, ... */
  target: () => DeliveryTarget;
  /** Reads the target's messages until the signal aborts. */
  consume(options: ConsumeOptions): Promise<void>;
}

export interface DeliveryOptions {
  /** How many messages the stream has. */
  messages: number;
  /** The mean time between two messages (ms); the gaps are exponential (Poisson arrivals). */
  meanGapMs: number;
  /** The seed of the schedule's random numbers: the same seed, the same stream. */
  seed: number;
  /** After the last message, how long to wait for the slowest consumer (ms) at most. */
  drainMs: number;
}

export interface DeliveryResult {
  name: string;
  /** How many distinct messages the consumer got, and how many it got twice or more. */
  delivered: number;
  duplicates: number;
  requests: number;
  connections: number;
  bytes: number;
  /** Latencies in ms, sorted. */
  latencies: number[];
}

/** When each message is published, in ms from the start: exponential gaps with the given mean. */
export function arrivalSchedule({ messages, meanGapMs, seed }: DeliveryOptions): number[] {
  const random = seededRandom(seed);
  const times: number[] = [];
  let at = 0;
  for (let i = 0; i < messages; i++) {
    at += -Math.log(1 - random()) * meanGapMs;
    times.push(at);
  }
  return times;
}

/** One strategy's run: its target, its two servers, and what it has seen so far. */
interface Lane {
  strategy: DeliveryStrategy;
  target: DeliveryTarget;
  measured: Metered;
  publishing: Metered;
  /** Where the publisher posts. */
  publishOrigin: string;
  acceptedAt: Map<number, number>;
  deliveredAt: Map<number, number>;
  duplicates: number;
  /** Resolves once every message has been delivered. */
  complete: Promise<void>;
  stop: AbortController;
  consuming: Promise<void>;
}

/** Starts a strategy's servers and its consumer; the consumer waits for the first message. */
async function openLane(strategy: DeliveryStrategy, messages: number): Promise<Lane> {
  const target = strategy.target();
  const measured = await startMetered(target.createServer());
  const publishing = await startMetered(target.createServer());
  const { origin } = measured;
  const publishOrigin = publishing.origin;
  let allDelivered!: () => void;
  const lane: Lane = {
    strategy,
    target,
    measured,
    publishing,
    publishOrigin,
    acceptedAt: new Map(),
    deliveredAt: new Map(),
    duplicates: 0,
    complete: new Promise<void>((resolve) => (allDelivered = resolve)),
    stop: new AbortController(),
    consuming: Promise.resolve(),
  };
  target.onAccepted((id) => lane.acceptedAt.set(id, performance.now()));
  lane.consuming = strategy
    .consume({
      origin,
      signal: lane.stop.signal,
      delivered(id) {
        if (lane.deliveredAt.has(id)) lane.duplicates++;
        else lane.deliveredAt.set(id, performance.now());
        if (lane.deliveredAt.size === messages) allDelivered();
      },
    })
    .catch((error: unknown) => {
      // A consumer that fails stops delivering; its row shows how far it got.
      console.error(`${strategy.name}: the consumer failed:`, error);
    });
  return lane;
}

function result(lane: Lane): DeliveryResult {
  const { connections, requests, bytesIn, bytesOut } = lane.measured.read();
  const bytes = bytesIn + bytesOut;
  const latencies = [...lane.deliveredAt].map(([id, at]) => at - (lane.acceptedAt.get(id) ?? at));
  latencies.sort((a, b) => a - b);
  const { name } = lane.strategy;
  return {
    name,
    delivered: lane.deliveredAt.size,
    duplicates: lane.duplicates,
    requests,
    connections,
    bytes,
    latencies,
  };
}

/** Runs the stream against every strategy at once; resolves with one result per strategy. */
export async function runDelivery(
  strategies: DeliveryStrategy[],
  options: DeliveryOptions,
): Promise<DeliveryResult[]> {
  const schedule = arrivalSchedule(options);
  const lanes = await Promise.all(
    strategies.map((strategy) => openLane(strategy, options.messages)),
  );

  // Publish on schedule: message i goes to every target at the same moment. The POSTs are not
  // awaited one by one, so that a slow answer does not push the next message back.
  const started = performance.now();
  const publishes: Promise<void>[] = [];
  for (const [index, at] of schedule.entries()) {
    const wait = started + at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (const lane of lanes) publishes.push(lane.target.publish(lane.publishOrigin, index));
  }
  await Promise.all(publishes);

  // Let the slowest consumer catch up (at most drainMs), then stop everyone.
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = new Promise<void>((resolve) => {
    drainTimer = setTimeout(resolve, options.drainMs);
  });
  await Promise.race([Promise.all(lanes.map((lane) => lane.complete)), drained]);
  clearTimeout(drainTimer);

  const results = lanes.map(result);
  for (const lane of lanes) lane.stop.abort();
  await Promise.all(lanes.map((lane) => lane.consuming));
  await Promise.all(lanes.flatMap((lane) => [lane.measured.close(), lane.publishing.close()]));
  return results;
}

/** The value at a percentile of sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Prints the results as a table, one row per strategy. */
export function printDelivery(results: DeliveryResult[], options: DeliveryOptions): void {
  const header = [
    "strategy",
    "delivered",
    "requests",
    "connections",
    "bytes on the wire",
    "bytes/message",
    "median ms",
    "p99 ms",
  ];
  const rows = results.map((r) => [
    r.name,
    `${r.delivered}/${options.messages}${r.duplicates > 0 ? ` (+${r.duplicates} dup)` : ""}`,
    r.requests.toLocaleString("en"),
    String(r.connections),
    r.bytes.toLocaleString("en"),
    Math.round(r.bytes / options.messages).toLocaleString("en"),
    percentile(r.latencies, 50).toFixed(1),
    percentile(r.latencies, 99).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}
