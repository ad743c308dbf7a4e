/**
 * Test helpers for the typed client (Step 3) and the subscription (Step 4): a tRPC server on
 * 127.0.0.1:0 that keeps every request it received and can drop every connection it has, a
 * subscription recorder whose waits are bounded, and an EventSource `fetch` that sends the token.
 */
import type http from "node:http";
import type net from "node:net";
import { EventSource, type FetchLike } from "eventsource";
import { onTestFinished } from "vitest";
import type { ServerOptions } from "#lesson/lesson-11-trpc/server.ts";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { isNotWritten } from "../../shared/testing/server-log.ts";

export { EventSource };

/** The token every test server accepts (DEFAULT_TOKENS), and who it names. */
export const TOKEN = "demo-token";
export const TOKEN_USER = "demo";

/** What reached the server: one entry per HTTP request, in order. */
export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface Started {
  /** http://127.0.0.1:PORT/trpc */
  url: string;
  origin: string;
  feed: MessageFeed;
  requests: Seen[];
  /** Rejects with the first bug the server logged (a stub's todo() included); never resolves. */
  failed: Promise<never>;
  /** Destroys every connection the server has open, as a network that drops them would. */
  dropConnections(): void;
}

/**
 * `create` (a lesson-11 createServer) over a fresh feed, listening until the test ends. A
 * procedure's bug is logged by the server (its `log` option) and answered INTERNAL_SERVER_ERROR,
 * which an event stream's client retries for ever: `failed` turns it into a test failure at once.
 */
export async function startServer(
  create: (options: ServerOptions) => http.Server,
  options: ServerOptions = {},
): Promise<Started> {
  const feed = options.feed ?? new MessageFeed();
  const requests: Seen[] = [];
  let reject!: (error: unknown) => void;
  const failed = new Promise<never>((_resolve, rejectFailed) => (reject = rejectFailed));
  failed.catch(() => {}); // a test that never waits on it is not an unhandled rejection
  const server = create({
    ...options,
    feed,
    onRequest: (req) =>
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers }),
    log: (error, path) => {
      reject(
        isNotWritten(error)
          ? error
          : new Error(`The server logged a bug in ${path ?? "(no procedure)"}: ${String(error)}`, {
              cause: error,
            }),
      );
    },
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const { host, port } = await listen(server);
  const origin = `http://${host}:${port}`;
  return {
    url: `${origin}/trpc`,
    origin,
    feed,
    requests,
    failed,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * The `fetch` an EventSource of the eventsource package makes its requests with: the standard's
 * headers (Accept, and Last-Event-ID on a reconnection), plus `Authorization: Bearer <token>`.
 * With `retryMs`, the stream seems to begin with `retry: <ms>`, so that a reconnection after a
 * drop comes in that many milliseconds instead of the package's default 3 s: a test must not
 * wait 3 s (tRPC's server sends no `retry` field of its own).
 */
export function fetchWithToken(token: string | undefined, retryMs?: number): FetchLike {
  return async (url, init) => {
    const headers = { ...init.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(url, { ...init, headers });
    if (retryMs === undefined || response.body === null) return response;
    const retry = new TextEncoder().encode(`retry: ${retryMs}\n\n`);
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start: (controller) => controller.enqueue(retry),
      }),
    );
    return {
      body,
      url: response.url,
      status: response.status,
      redirected: response.redirected,
      headers: response.headers,
    };
  };
}

/** What a subscription delivered, and waits on it that fail with what did arrive. */
export interface Recorder<T> {
  data: T[];
  errors: unknown[];
  /** The callbacks to pass to `subscribe(input, ...)`. */
  handlers: {
    onData: (value: T) => void;
    onError: (error: unknown) => void;
    onStarted: () => void;
  };
  /** How many times the stream started: once per connection. */
  starts: number;
  /** Resolves once `count` values have arrived; rejects on an error or a bug the server logged. */
  until(count: number, expected: string): Promise<T[]>;
  /** Resolves with the subscription's error (rejects if none comes in time). */
  error(expected: string): Promise<unknown>;
  /** Resolves once the stream has started `count` times. */
  started(count: number, expected: string): Promise<void>;
}

export function record<T>(failed: Promise<never>): Recorder<T> {
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const recorder: Recorder<T> = {
    data: [],
    errors: [],
    starts: 0,
    handlers: {
      onData: (value) => {
        recorder.data.push(value);
        wake();
      },
      onError: (error) => {
        recorder.errors.push(error);
        wake();
      },
      onStarted: () => {
        recorder.starts++;
        wake();
      },
    },
    until: (count, expected) =>
      wait(
        () => recorder.data.length >= count,
        () => `${expected}; got ${recorder.data.length}: ${brief(recorder.data)}`,
        true,
      ).then(() => recorder.data),
    error: (expected) =>
      wait(
        () => recorder.errors.length > 0,
        () => `${expected}; got no error, and ${brief(recorder.data)}`,
        false,
      ).then(() => recorder.errors[0]),
    started: (count, expected) =>
      wait(
        () => recorder.starts >= count,
        () => `${expected}; the stream started ${recorder.starts} time(s)`,
        true,
      ),
  };

  function wait(done: () => boolean, message: () => string, errorsFail: boolean): Promise<void> {
    const reached = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (errorsFail && recorder.errors.length > 0) {
          waiters.delete(check);
          reject(subscriptionError(recorder.errors[0], message()));
        } else if (done()) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      onTestFinished(() => void waiters.delete(check));
      check();
    });
    return within(Promise.race([reached, failed]), () => `Nothing more in time. ${message()}`);
  }
  return recorder;
}

/** A long list as its first and last few values, so that a failure stays readable. */
function brief(values: readonly unknown[]): string {
  if (values.length <= 6) return JSON.stringify(values);
  const head = values.slice(0, 3).map((v) => JSON.stringify(v));
  const tail = values.slice(-3).map((v) => JSON.stringify(v));
  return `[${head.join(",")}, ... ${values.length - 6} more ..., ${tail.join(",")}]`;
}

function subscriptionError(error: unknown, expected: string): Error {
  if (isNotWritten(error)) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (isNotWritten(cause)) return cause;
  return new Error(
    `The subscription ended with an error: ${String(error)}\nThe test waited for: ${expected}`,
    {
      cause: error,
    },
  );
}
