/**
 * Test helpers for lesson 04: a server under test whose own errors fail the test at once, and a
 * raw client that reads HTTP responses back. The raw client, the chunking and the waits are the
 * course's shared ones (shared/testing/); what is here is specific to persistent HTTP.
 */
import type net from "node:net";
import { onTestFinished } from "vitest";
import { ResponseParser, type ClientResponse } from "#reference/lesson-03-http/client.ts";
import {
  createServer,
  type KeepAliveServer,
  type ServerOptions,
} from "#lesson/lesson-04-keep-alive/server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { guard } from "../../shared/testing/guard.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { RawClient } from "../../shared/testing/raw.ts";

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

/** A started server (closed when the test ends), and ways to wait on it. */
export interface Served {
  server: KeepAliveServer;
  address: Address;
  /** A raw connection to the server that reads HTTP responses. */
  open(options?: { allowHalfOpen?: boolean }): Promise<HttpClient>;
  /**
   * `promise`, bounded: it fails after a while saying `expected`, and at once if the server
   * destroys a connection with an error of its own.
   */
  wait<T>(promise: Promise<T>, expected: string, ms?: number): Promise<T>;
}

/**
 * Starts the lesson's server on a free port. A server that throws while it handles a connection
 * (a function not written yet, a bug) destroys that connection with the error: the test then
 * fails at once with that error's message, instead of waiting for bytes that never come.
 */
export async function serve(options: ServerOptions = {}): Promise<Served> {
  const server = createServer(options);
  // What the server's own socket listeners ("data", "end", "drain", ...) throw fails the test.
  const guarded = guard(server);
  const broken = Promise.race([guarded.failed, destroyedWithOwnError(server), thrownLater()]);
  broken.catch(() => {}); // read by whoever waits; nobody may be waiting when it happens
  const address = await listen(server);
  return {
    server,
    address,
    open: async (openOptions = {}) =>
      new HttpClient(await RawClient.open(address, openOptions), broken),
    wait: (promise, expected, ms = PATIENCE_MS) =>
      within(Promise.race([promise, broken]), expected, ms),
  };
}

/**
 * Rejects when the server destroys one of its connections (`accepted` ones, and those it accepts
 * from now on) with an error of its own, not a reset or a broken pipe: the test then fails with
 * that error's message.
 */
export function destroyedWithOwnError(
  server: net.Server,
  accepted: net.Socket[] = [],
): Promise<never> {
  let fail!: (error: Error) => void;
  const destroyed = new Promise<never>((_resolve, reject) => (fail = reject));
  destroyed.catch(() => {}); // read by whoever waits; nobody may be waiting when it happens
  const watch = (socket: net.Socket): void => {
    socket.on("error", (error: Error) => {
      // A reset or a broken pipe (system errors, with a syscall) is the client's doing.
      if ("syscall" in error) return;
      fail(ownError(error));
    });
  };
  for (const socket of accepted) watch(socket);
  server.on("connection", watch);
  return destroyed;
}

/** An error thrown where no caller could catch it, as a test failure. */
export class ThrownLater extends Error {}

let later: Promise<never> | undefined;

/**
 * Rejects with the first error the code under test throws where no caller can catch it: in a
 * timer, in a promise's continuation, as an "error" event with no listener. Until the test ends,
 * such an error fails the test that reached it, at once, instead of the whole run later.
 */
export function thrownLater(): Promise<never> {
  if (later !== undefined) return later;
  let reject!: (error: Error) => void;
  const failed = new Promise<never>((_resolve, rejectFailed) => (reject = rejectFailed));
  failed.catch(() => {}); // read by whoever waits; nobody may be waiting when it happens
  const onError = (error: unknown): void => {
    const thrown = error instanceof Error ? error : new Error(String(error));
    const failure = new ThrownLater(
      `Thrown where no caller could catch it (a timer, a promise's continuation, or an "error" ` +
        `event with no listener): ${thrown.message}`,
      { cause: thrown },
    );
    failure.stack = `Error: ${failure.message}\n${(thrown.stack ?? "").split("\n").slice(1).join("\n")}`;
    reject(failure);
  };
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  later = failed;
  onTestFinished(() => {
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
    later = undefined;
  });
  return failed;
}

/**
 * An error the server destroyed a connection with, as a failure: its message, and the stack of
 * the code that raised it (not of this file, which only heard of it).
 */
function ownError(error: Error): Error {
  const why =
    (error as { code?: unknown }).code === "ERR_STREAM_WRITE_AFTER_END"
      ? " (a write() after the server's own end(): nothing may be written once the FIN is queued)"
      : "";
  const failure = new Error(
    `The server destroyed a connection with an error of its own: ${error.message}${why}`,
    { cause: error },
  );
  const frames = (error.stack ?? "").split("\n").slice(1).join("\n");
  failure.stack = `Error: ${failure.message}\n${frames}`;
  return failure;
}

/** The shared RawClient, reading HTTP responses; every wait is bounded. */
export class HttpClient {
  readonly raw: RawClient;
  private readonly broken: Promise<never>;

  constructor(raw: RawClient, broken: Promise<never>) {
    this.raw = raw;
    this.broken = broken;
  }

  get socket(): net.Socket {
    return this.raw.socket;
  }

  /** Everything sent so far, for failure messages. */
  get sent(): Buffer {
    return this.raw.sent;
  }

  /** Everything received so far. */
  get received(): Buffer {
    return this.raw.received;
  }

  send(...chunks: (Buffer | string)[]): Promise<void> {
    return this.raw.send(...chunks);
  }

  /** Resolves with the first `count` responses once they have all arrived. */
  async responses(
    count: number,
    expectation = count === 1 ? "a response" : `${count} responses`,
  ): Promise<[ClientResponse, ...ClientResponse[]]> {
    const arrived = this.raw.until((bytes) => responsesIn(bytes).length >= count, expectation);
    const bytes = await this.bounded(arrived, expectation);
    const [first, ...rest] = responsesIn(bytes).slice(0, Math.max(count, 1));
    if (first === undefined) throw new Error(`No response arrived (sent: ${show(this.sent, 300)})`);
    return [first, ...rest];
  }

  /** Resolves with every byte received once the server has closed the connection. */
  closed(expectation = "the server to close the connection (a FIN)"): Promise<Buffer> {
    return this.bounded(this.raw.closed(), expectation);
  }

  /** Resolves with everything received once `done(bytes)` holds. */
  until(done: (bytes: Buffer) => boolean, expectation: string): Promise<Buffer> {
    return this.bounded(this.raw.until(done, expectation), expectation);
  }

  private bounded<T>(promise: Promise<T>, expectation: string): Promise<T> {
    return within(
      Promise.race([promise, this.broken]),
      () =>
        `Nothing more after ${PATIENCE_MS} ms. Expected ${expectation.replace(/\.$/, "")}.\n` +
        `  sent:     ${show(this.sent, 300)}\n` +
        `  received: ${show(this.received, 300)}`,
    );
  }
}
