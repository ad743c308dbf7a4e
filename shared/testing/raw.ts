/**
 * A test's side of a raw TCP conversation with a server under test: write bytes in chunks you
 * choose, know when the server has read them, and read back every byte it sent.
 */
import { once } from "node:events";
import type net from "node:net";
import { show } from "./bytes.ts";
import { connect, Inbox, type Address } from "./net.ts";

/** A raw client that keeps its connection open and remembers what it sent, for failure messages. */
export class RawClient {
  readonly socket: net.Socket;
  readonly inbox: Inbox;
  private readonly sentChunks: Buffer[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.inbox = new Inbox(socket);
  }

  /**
   * Connects (the socket is destroyed when the test ends). `allowHalfOpen: true` keeps the
   * client's side open after the server's FIN, as a client that never closes would: Node otherwise
   * ends its side at once.
   */
  static async open(
    address: Address,
    options: { allowHalfOpen?: boolean } = {},
  ): Promise<RawClient> {
    const socket = await connect(address, options);
    // Each write leaves in its own segment: a split message really arrives in pieces.
    socket.setNoDelay(true);
    // The server may close or reset while the test still writes; what arrived is what counts.
    socket.on("error", () => {});
    return new RawClient(socket);
  }

  /** Everything sent so far. */
  get sent(): Buffer {
    return Buffer.concat(this.sentChunks);
  }

  /** Everything received so far. */
  get received(): Buffer {
    return this.inbox.bytes();
  }

  /**
   * Writes each chunk in turn, each handed to the kernel before the next. Strings are sent as
   * latin1, one byte per character, so a test can write any byte; use a Buffer for UTF-8 text.
   * Stops quietly once the server has closed: what it answered before is what a test checks.
   */
  async send(...chunks: (Buffer | string)[]): Promise<void> {
    for (const chunk of chunks) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
      this.sentChunks.push(bytes);
      if (!this.socket.writable) return;
      await new Promise<void>((resolve) => this.socket.write(bytes, () => resolve()));
    }
  }

  /** Resolves with everything received once `done(bytes)` holds; rejects if the server closes first. */
  until(done: (bytes: Buffer) => boolean, expectation = "more bytes"): Promise<Buffer> {
    return this.inbox.until(done, `${expectation} (sent: ${show(this.sent, 300)})`);
  }

  /** Resolves with every byte received once the server has closed the connection. */
  closed(): Promise<Buffer> {
    return this.inbox.untilEnd();
  }
}

/**
 * Connects, writes each chunk in turn, and resolves with every byte the server sent before it
 * closed the connection.
 */
export async function exchange(address: Address, chunks: (Buffer | string)[]): Promise<Buffer> {
  const client = await RawClient.open(address);
  await client.send(...chunks);
  return client.closed();
}

/** The server side of the next connection a server accepts. */
export async function nextConnection(server: net.Server): Promise<net.Socket> {
  const [socket] = (await once(server, "connection")) as [net.Socket];
  return socket;
}

/**
 * Resolves once the server side of a connection has read `count` more bytes. The server's own
 * "data" listener was added first, so by then it has handled them all, however the bytes were cut
 * into chunks on the way. Rejects if the connection closes first.
 */
export function serverHasRead(peer: net.Socket, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let read = 0;
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read < count) return;
      peer.off("data", onData).off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      peer.off("data", onData);
      reject(new Error(`The connection closed after the server read ${read} of ${count} bytes.`));
    };
    peer.on("data", onData).once("close", onClose);
  });
}

/**
 * Both ends of one connection: the test's client and `peer`, the socket the server accepted.
 * Watching `peer` tells a test when the server has received a chunk, so chunk boundaries are made
 * on purpose instead of by luck.
 */
export interface Pair {
  client: RawClient;
  peer: net.Socket;
}

/** Connects to `server` at `address` and waits until the server has accepted the connection. */
export async function openPair(
  server: net.Server,
  address: Address,
  options: { allowHalfOpen?: boolean } = {},
): Promise<Pair> {
  const accepted = nextConnection(server);
  const client = await RawClient.open(address, options);
  return { client, peer: await accepted };
}

/**
 * Writes `bytes` and resolves once the server has read all of them. Called once per piece, it
 * makes each piece arrive on its own, never merged with the next.
 */
export async function deliver({ client, peer }: Pair, bytes: string | Buffer): Promise<void> {
  const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  const read = serverHasRead(peer, buffer.length);
  await client.send(buffer);
  await read;
}

/** A promise with its resolve function outside, for a test to settle when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
