import type net from "node:net";
import { expect } from "vitest";
import {
  createServer,
  type LineServer,
  type ServerOptions,
} from "#lesson/lesson-01-tcp-sockets/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { guard, type Guard } from "../../shared/testing/guard.ts";
import { type Address, listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deliver, openPair, type Pair } from "../../shared/testing/raw.ts";

/**
 * A line server under test, listening on a port of its own. `guard` turns an error thrown inside
 * the server's listeners (an unwritten function, say) into a failure of the test that reached it.
 */
export interface Served {
  server: LineServer;
  address: Address;
  guard: Guard;
}

/** Creates a server, listens on port 0, and closes it when the test ends. */
export async function serve(options: ServerOptions = {}): Promise<Served> {
  const server = createServer(options);
  const watched = guard(server);
  return { server, address: await listen(server), guard: watched };
}

/**
 * `promise`, bounded: it fails at once with the server's own error if one of its listeners threw,
 * and after a while with `expected` if nothing happens at all.
 */
export function settle<T>(
  { guard: watched }: Served,
  promise: Promise<T>,
  expected: string | (() => string),
  ms?: number,
): Promise<T> {
  return within(Promise.race([promise, watched.failed.catch(explainEscaped)]), expected, ms);
}

/** A LINE_TOO_LONG that escaped the server's own listener says where it should have been caught. */
function explainEscaped(error: unknown): never {
  if ((error as { code?: unknown } | null)?.code === "LINE_TOO_LONG") {
    throw new Error(
      "The server's data listener let LINE_TOO_LONG escape (Step 4): catch it where you feed " +
        "the chunk, send the ERR line, then end the connection.",
      { cause: error },
    );
  }
  throw error;
}

/** Both ends of one connection to a served line server, and what watches the server's side. */
export interface LinePair extends Pair {
  served: Served;
  /** What the server wrote to its socket after it had called end(): it should never write then. */
  lateWrites: Buffer[];
}

/** Connects to the server and waits until it has accepted the connection. */
export async function connectTo(
  served: Served,
  options: { allowHalfOpen?: boolean } = {},
): Promise<LinePair> {
  const pair = await settle(
    served,
    openPair(served.server, served.address, options),
    "the server to accept the connection",
  );
  // Watch the server's writes: one after end() fails (ERR_STREAM_WRITE_AFTER_END), and the error
  // listener the server must have hides it from everyone.
  const lateWrites: Buffer[] = [];
  const { peer } = pair;
  const write = peer.write.bind(peer) as (...args: unknown[]) => boolean;
  peer.write = ((...args: unknown[]): boolean => {
    if (peer.writableEnded) lateWrites.push(Buffer.from(args[0] as string | Buffer));
    return write(...args);
  }) as typeof peer.write;
  return { ...pair, served, lateWrites };
}

function lineCount(bytes: Buffer): number {
  let count = 0;
  for (const byte of bytes) if (byte === 0x0a) count++;
  return count;
}

/**
 * Sends `sent` (in one write, unless it was already delivered) and waits for as many reply lines
 * as `expected` holds, then checks them byte for byte.
 */
export async function expectReplies(
  pair: LinePair,
  sent: string | Buffer,
  expected: string | Buffer,
  options: { alreadySent?: boolean } = {},
): Promise<void> {
  const want = Buffer.from(expected);
  const before = pair.client.received.length;
  if (!options.alreadySent) await pair.client.send(Buffer.from(sent));
  const lines = lineCount(want);
  const all = await settle(
    pair.served,
    pair.client.until(
      (bytes) => lineCount(bytes.subarray(before)) >= lines,
      `${lines} reply line(s) ${show(want)}`,
    ),
    () => explain(`Expected ${lines} reply line(s); not all came.`, sent, show(want), received()),
  );
  const got = all.subarray(before);
  expect(show(got), explain("The server's reply is wrong.", sent, show(want), got)).toBe(
    show(want),
  );

  function received(): Buffer {
    return pair.client.received.subarray(before);
  }
}

/**
 * Waits until the server closes the connection, then checks every byte it sent first, and that it
 * closed with end() (its FIN after every reply) and wrote nothing after it. Bytes that already
 * differ from `expected` fail at once, without waiting for the close.
 */
export async function expectFinalBytes(
  pair: LinePair,
  sent: string | Buffer,
  expected: string | Buffer,
  what: string,
  ms?: number,
): Promise<void> {
  const want = Buffer.from(expected);
  const wanted = `${show(want)}, then the server's FIN`;
  const wrong = pair.client
    .until(
      (bytes) => bytes.length > want.length || !bytes.equals(want.subarray(0, bytes.length)),
      wanted,
    )
    .catch(() => new Promise<Buffer>(() => {})); // closed first: `closed()` below answers
  const got = await settle(
    pair.served,
    Promise.race([pair.client.closed(), wrong]),
    () =>
      explain(
        `${what} The server did not close the connection.`,
        sent,
        wanted,
        pair.client.received,
      ),
    ms,
  );
  expect(show(got), explain(what, sent, wanted, got)).toBe(show(want));
  await closeOf(pair.served, pair.peer, "the server's side of the connection to close");
  expect(
    pair.lateWrites.map((bytes) => show(bytes)),
    `${what} The server wrote these bytes after end(): a write after end() fails ` +
      "(ERR_STREAM_WRITE_AFTER_END). Once a connection is ending, answer nothing more.",
  ).toEqual([]);
  expect(
    pair.peer.writableEnded,
    `${what} The server closed its side with destroy(), not end(). destroy() throws away replies ` +
      "still queued, and with bytes unread it sends a reset (RFC 9293 §3.6.1); end() sends the " +
      "FIN after every reply.",
  ).toBe(true);
}

/** Resolves once `socket` has closed, bounded like every other wait. */
export function closeOf(served: Served, socket: net.Socket, what: string): Promise<void> {
  const closed = socket.closed
    ? Promise.resolve()
    : new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return settle(served, closed, what);
}

/**
 * Writes `bytes` and resolves once the server has read them all, so that each piece arrives as a
 * data event of its own (or several), never merged with the next piece.
 */
export function deliverTo(pair: LinePair, bytes: string | Buffer): Promise<void> {
  const buffer = Buffer.from(bytes);
  return settle(pair.served, deliver(pair, buffer), `the server to read ${show(buffer)}`);
}

/**
 * Delivers a line past the server's limit that has no LF, and checks at once that the server
 * reacted while handling it (wrote its ERR line, or ended): such a line never completes, so waiting
 * for the close would only wait out the bound.
 */
export async function deliverOverLimit(
  pair: LinePair,
  bytes: string,
  limit: number,
): Promise<void> {
  const before = pair.peer.bytesWritten;
  await deliverTo(pair, bytes);
  expect(
    pair.peer.bytesWritten > before || pair.peer.writableEnded,
    `The server read ${Buffer.byteLength(bytes)} bytes with no LF, over its limit of ${limit}, ` +
      "and neither wrote nor ended anything. A line past maxLineBytes gets the ERR line as soon " +
      "as the chunk that passes the limit arrives, LF or no LF.",
  ).toBe(true);
}
