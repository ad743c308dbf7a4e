/**
 * Step 2: a network with a round-trip time, in user space. A TCP proxy on 127.0.0.1 that forwards
 * to the server and holds every byte back as a real network would.
 *
 *   client ──▶ proxy ══ rtt/2 each way ══▶ server
 *
 * The client's connection to the proxy is made at once, on the loopback; what it costs on a real
 * network is charged to the bytes instead. RFC 9293 §3.5, the three-way handshake:
 *
 *   client                          server
 *     SYN ───────────────────────▶           0 → rtt/2
 *         ◀─────────────────────── SYN,ACK   rtt/2 → rtt
 *     ACK, data ─────────────────▶           rtt → 1.5 rtt: the server's side is established
 *         ◀─────────────────────── data      1.5 rtt → 2 rtt
 *
 * So, counting from the moment the client connected: nothing the client sends leaves before rtt,
 * nothing the server sends leaves before 1.5 rtt, and everything then takes rtt/2. A request on a
 * new connection is answered after 2 rtt at the soonest, one on a kept-alive connection after 1.
 */
import net from "node:net";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import type { Meter } from "./meter.ts";

export interface NetworkOptions {
  /** The round-trip time to simulate (ms): each direction takes half of it. 0 for none. */
  rttMs: number;
  /** Counts every connection made through the network, if given. */
  meter?: Meter;
}

export interface Network {
  /** The port clients connect to instead of the server's. */
  readonly port: number;
  /** Stops taking connections and ends every one still open. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 and a free port in front of `target`. */
export async function startNetwork(
  target: { host: string; port: number },
  options: NetworkOptions,
): Promise<Network> {
  const { rttMs, meter } = options;
  if (!(Number.isFinite(rttMs) && rttMs >= 0)) {
    throw new RangeError(`rttMs must be a number >= 0, got ${JSON.stringify(rttMs)}`);
  }
  const lines = new Set<DelayLine>();

  // allowHalfOpen on both ends: a FIN from one side must travel the network like any byte, not
  // close the other side's direction at once.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    meter?.track(client);
    const acceptedAt = performance.now();
    const upstream = net.connect({ ...target, allowHalfOpen: true });
    // No Nagle on either side: a network adds its delay once, where Nagle's algorithm (RFC 9293
    // §3.7.4) would hold a small write back for the ACK of the last, which the other side's
    // delayed ACK sends up to 40 ms late. The client and the server still choose for themselves.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new DelayLine(client, upstream, acceptedAt + rttMs, rttMs / 2);
    const down = new DelayLine(upstream, client, acceptedAt + 1.5 * rttMs, rttMs / 2);
    for (const line of [up, down]) {
      lines.add(line);
      void line.done.then(() => lines.delete(line));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const line of lines) line.destroy();
      lines.clear();
      await closed;
    },
  };
}

/** What travels one way: bytes, a FIN, or the end of the connection. */
type Segment =
  { kind: "data"; bytes: Buffer } | { kind: "end" } | { kind: "close"; hadError: boolean };

/** A segment in flight, and when it arrives. */
interface InFlight {
  segment: Segment;
  arrivesAt: number;
}

/**
 * Bytes queued in flight before the sender is paused: a window, in TCP's terms. With the
 * receiver's own buffer, it bounds what the proxy holds for a sender that outpaces its reader.
 */
const WINDOW_BYTES = 256 * 1024;

/**
 * One direction of a connection: what `source` reads arrives at `destination` `delayMs` later,
 * in the order it was sent, and never before `opensAt`.
 */
class DelayLine {
  readonly source: net.Socket;
  readonly destination: net.Socket;
  /** Resolves when the line has delivered its last segment (or was destroyed). */
  readonly done: Promise<void>;

  readonly #opensAt: number;
  readonly #delayMs: number;
  readonly #inFlight: InFlight[] = [];
  #bytesInFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #finish!: () => void;

  constructor(source: net.Socket, destination: net.Socket, opensAt: number, delayMs: number) {
    this.source = source;
    this.destination = destination;
    this.#opensAt = opensAt;
    this.#delayMs = delayMs;
    this.done = new Promise((resolve) => (this.#finish = resolve));

    source.on("data", (bytes: Buffer) => this.#send({ kind: "data", bytes }));
    source.on("end", () => this.#send({ kind: "end" }));
    source.on("close", (hadError: boolean) => this.#send({ kind: "close", hadError }));
    // The error is told to the other side as the close that follows it ("close", hadError).
    source.on("error", () => {});
    destination.on("drain", () => this.#regulate());
  }

  /** Drops everything in flight and both sockets. */
  destroy(): void {
    clearTimeout(this.#timer);
    this.#inFlight.length = 0;
    this.source.destroy();
    this.destination.destroy();
    this.#finish();
  }

  #send(segment: Segment): void {
    // Segments leave no sooner than the line opens, and all take the same time: arrival times
    // never decrease, so the queue is in arrival order and one timer, for its head, is enough.
    const now = performance.now();
    const arrivesAt = Math.max(now, this.#opensAt) + this.#delayMs;
    this.#inFlight.push({ segment, arrivesAt });
    if (segment.kind === "data") this.#bytesInFlight += segment.bytes.length;
    this.#deliver();
  }

  /** Hands over every segment that has arrived, then waits for the next one. */
  #deliver(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = performance.now();
    while (this.#inFlight.length > 0 && this.#inFlight[0]!.arrivesAt <= now) {
      this.#arrive(this.#inFlight.shift()!.segment);
    }
    const next = this.#inFlight[0];
    // Checked against the clock again when it fires: a timer can fire a fraction of a
    // millisecond early, and nothing may arrive before its time.
    if (next !== undefined) this.#timer = setTimeout(() => this.#deliver(), next.arrivesAt - now);
    this.#regulate();
  }

  #arrive(segment: Segment): void {
    const destination = this.destination;
    switch (segment.kind) {
      case "data":
        this.#bytesInFlight -= segment.bytes.length;
        if (!destination.destroyed && !destination.writableEnded) destination.write(segment.bytes);
        break;
      case "end":
        destination.end();
        break;
      case "close":
        // The source is gone both ways: nothing the destination sends can be delivered.
        if (segment.hadError) {
          // An error (a refused or reset connection) is passed on as a reset...
          if (!destination.destroyed) destination.resetAndDestroy();
        } else if (destination.writableFinished) {
          destination.destroy();
        } else {
          // ...a clean close as a FIN, once what was already written has gone out.
          destination.end(() => destination.destroy());
        }
        this.#finish();
        break;
    }
  }

  /** Backpressure: the sender waits while the window is full or the receiver is not reading. */
  #regulate(): void {
    const full = this.#bytesInFlight >= WINDOW_BYTES || this.destination.writableNeedDrain;
    if (full && !this.source.isPaused()) this.source.pause();
    else if (!full && this.source.isPaused()) this.source.resume();
  }
}
