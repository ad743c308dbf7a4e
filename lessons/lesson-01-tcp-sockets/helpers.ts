import { once } from "node:events";
import type net from "node:net";
import { expect } from "vitest";
import { explain, show } from "../../shared/testing/bytes.ts";
import { type Address, connect, Inbox } from "../../shared/testing/net.ts";

/**
 * Both ends of one TCP connection: the test's client socket, what it has received, and `peer`, the
 * socket the server accepted. Watching `peer` tells a test when the server has received a chunk,
 * so chunk boundaries are made on purpose instead of by luck.
 */
export interface Pair {
  client: net.Socket;
  inbox: Inbox;
  peer: net.Socket;
}

/** Connects to `server` and waits until the server has accepted the connection. */
export async function openPair(
  server: net.Server,
  address: Address,
  options: { allowHalfOpen?: boolean } = {},
): Promise<Pair> {
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const client = await connect(address, options);
  const inbox = new Inbox(client);
  const [peer] = await accepted;
  return { client, inbox, peer };
}

/**
 * Writes `bytes` and resolves once the server's side has received all of them. Called once per
 * piece, it makes each piece arrive as its own `data` event (or several), never merged with the
 * next piece. The server's own "data" listener was added first, so it has run by then.
 */
export function deliver({ client, peer }: Pair, bytes: string | Buffer): Promise<void> {
  const buffer = Buffer.from(bytes);
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received < buffer.length) return;
      peer.off("data", onData).off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      peer.off("data", onData);
      reject(new Error(`The server closed the connection before it received ${show(buffer)}`));
    };
    peer.on("data", onData).once("close", onClose);
    client.write(buffer);
  });
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
  pair: Pair,
  sent: string | Buffer,
  expected: string | Buffer,
  options: { alreadySent?: boolean } = {},
): Promise<void> {
  const want = Buffer.from(expected);
  const before = pair.inbox.bytes().length;
  if (!options.alreadySent) pair.client.write(sent);
  const lines = lineCount(want);
  const all = await pair.inbox.until(
    (bytes) => lineCount(bytes.subarray(before)) >= lines,
    `${lines} reply line(s) ${show(want)}`,
  );
  const got = all.subarray(before);
  expect(show(got), explain("The server's reply is wrong.", sent, show(want), got)).toBe(
    show(want),
  );
}

/** Waits until the server closes the connection, then checks every byte it sent first. */
export async function expectFinalBytes(
  pair: Pair,
  sent: string | Buffer,
  expected: string | Buffer,
  what: string,
): Promise<void> {
  const got = await pair.inbox.untilEnd();
  expect(show(got), explain(what, sent, `${show(expected)}, then the server's FIN`, got)).toBe(
    show(expected),
  );
}

/** The error `fn` throws (a test then checks its class and code), or a failure if none. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected an error to be thrown, but none was.");
}
