/** Test helpers for lesson 04: a raw client that keeps its connection, and responses read back. */
import { once } from "node:events";
import type net from "node:net";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ResponseParser, type ClientResponse } from "#reference/lesson-03-http/client.ts";
import { show } from "../../shared/testing/bytes.ts";
import { connect, Inbox, type Address } from "../../shared/testing/net.ts";

export { crlf, oneByOne, splitAt } from "../lesson-03-http/helpers.ts";
export { nextTurn };

/**
 * Every complete response in `bytes`, in order, framed as responses to GET (a response to HEAD
 * would need its own parser). None if the bytes hold something that is not a response.
 */
export function responsesIn(bytes: Buffer): ClientResponse[] {
  try {
    return new ResponseParser("GET").feed(bytes);
  } catch {
    return [];
  }
}

/** A response as a line for a failure message: status, Connection, Keep-Alive, body. */
export function summary(response: ClientResponse | undefined): string {
  if (response === undefined) return "no response";
  const { status, headers, body } = response;
  const fields = ["connection", "keep-alive"]
    .filter((name) => headers[name] !== undefined)
    .map((name) => `${name}: ${headers[name]}`);
  return `${status} ${fields.join(", ")} ${show(body, 80)}`;
}

/** A raw TCP client that keeps its connection open and remembers what it sent. */
export class RawClient {
  readonly socket: net.Socket;
  readonly inbox: Inbox;
  private readonly sentChunks: Buffer[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.inbox = new Inbox(socket);
  }

  /**
   * `allowHalfOpen: true` keeps the client's side open after the server's FIN, as a client that
   * never closes would: Node otherwise ends its side at once.
   */
  static async open(
    address: Address,
    options: { allowHalfOpen?: boolean } = {},
  ): Promise<RawClient> {
    const socket = await connect(address, options);
    // Each write leaves in its own segment: a split request really arrives in pieces.
    socket.setNoDelay(true);
    // The server may close or reset while the test still writes; what arrived is what counts.
    socket.on("error", () => {});
    return new RawClient(socket);
  }

  /** Everything sent so far, for failure messages. */
  get sent(): Buffer {
    return Buffer.concat(this.sentChunks);
  }

  /** Writes each chunk in turn, each handed to the kernel before the next. */
  async send(...chunks: (Buffer | string)[]): Promise<void> {
    for (const chunk of chunks) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
      this.sentChunks.push(bytes);
      if (!this.socket.writable) return;
      await new Promise<void>((resolve) => this.socket.write(bytes, () => resolve()));
    }
  }

  /** Resolves with the first `count` responses once they have all arrived. */
  async responses(
    count: number,
    expectation = `${count} responses`,
  ): Promise<[ClientResponse, ...ClientResponse[]]> {
    const bytes = await this.inbox.until(
      (received) => responsesIn(received).length >= count,
      `${expectation} (sent: ${show(this.sent, 300)})`,
    );
    const [first, ...rest] = responsesIn(bytes).slice(0, Math.max(count, 1));
    if (first === undefined) throw new Error(`No response arrived (sent: ${show(this.sent, 300)})`);
    return [first, ...rest];
  }

  /** Resolves with every byte received once the server has closed the connection. */
  closed(): Promise<Buffer> {
    return this.inbox.untilEnd();
  }
}

/** A promise with its resolve function outside, for a test to settle when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The server side of the next connection a server accepts. */
export async function nextConnection(server: net.Server): Promise<net.Socket> {
  const [socket] = (await once(server, "connection")) as [net.Socket];
  return socket;
}

/**
 * Resolves once the server side of a connection has read `count` bytes. The server's own "data"
 * listener was added first, so by then it has parsed them all, however the bytes were cut into
 * chunks on the way.
 */
export function serverHasRead(socket: net.Socket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    socket.on("data", function onData(chunk: Buffer) {
      read += chunk.length;
      if (read < count) return;
      socket.off("data", onData);
      resolve();
    });
  });
}
