/**
 * Test helpers for the event-stream server (Steps 2 to 4): a server on port 0 over a feed the
 * test can watch, and event streams read with fetch and the `eventsource-parser` package, a parser
 * nobody in this course wrote (so Step 2 does not rest on your Step 1).
 */
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { createServer, type SseServerOptions } from "#lesson/lesson-07-sse/server.ts";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { onTestFinished } from "vitest";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { RawClient } from "../../shared/testing/raw.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { loggedStub, watchServerLog } from "../../shared/testing/server-log.ts";

export { serverLog } from "../../shared/testing/server-log.ts";

export const HI = { author: "ada", text: "hi" };

/**
 * A 500 because the server reached an unwritten stub: fail with the stub's own message. Without a
 * status: whatever the answer was, if the server logged a stub.
 */
export function rethrowStub(status?: number): void {
  const stub = status === undefined || status === 500 ? loggedStub() : undefined;
  if (stub !== undefined) throw stub;
}

/**
 * GET /events on a raw socket (for a client that does not read, or that counts timers), resolved
 * once the whole head has come: a stub the server reached fails here with its own message.
 */
export async function rawEvents({
  host,
  port,
}: {
  host: string;
  port: number;
}): Promise<RawClient> {
  const client = await RawClient.open({ host, port });
  await client.send("GET /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n");
  const bytes = await within(
    client.until((b) => b.includes("\r\n\r\n"), "the response's head"),
    "the response's head to GET /events at once (res.flushHeaders())",
  );
  const status = Number(bytes.toString("latin1").slice(9, 12));
  rethrowStub(status);
  if (status !== 200) throw new Error(`GET /events answered ${show(bytes)}`);
  return client;
}

export type Started = Awaited<ReturnType<typeof start>>;

/** The lesson's server over a feed of the test's own, listening on 127.0.0.1:0 until the test ends. */
export async function start(options: SseServerOptions = {}) {
  watchServerLog();
  const feed = options.feed ?? new MessageFeed();
  const server = createServer({ ...options, feed });
  const { host, port } = await listen(server);
  const origin = `http://${host}:${port}`;
  return { feed, server, host, port, origin };
}

/** An event stream being read: everything that came so far, and ways to wait for more. */
export interface EventReader {
  response: Response;
  /** The body as it came, decoded (UTF-8): the event-stream bytes, without HTTP's chunking. */
  text(): string;
  /** The events dispatched so far, as eventsource-parser reads them. */
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  /** Resolves once `done()` holds; fails with `why` and the bytes so far after PATIENCE_MS. */
  until(done: () => boolean, why: string): Promise<void>;
  /** Resolves once at least `count` events have come. */
  eventsAtLeast(count: number, why: string): Promise<EventSourceMessage[]>;
  /** Resolves once the server has ended the response (or the connection is gone). */
  ended: Promise<"ended" | "broken">;
  /** Aborts the request: the client goes away. */
  abort(): void;
}

/**
 * GET /events with fetch, the head awaited (bounded): a server that does not send the head at
 * once fails here. The body is read in the background; the request is aborted when the test ends.
 */
export async function openEvents(
  origin: string,
  headers: Record<string, string> = {},
): Promise<EventReader> {
  const controller = new AbortController();
  onTestFinished(() => controller.abort());
  const response = await within(
    fetch(`${origin}/events`, {
      headers: { Accept: "text/event-stream", ...headers },
      signal: controller.signal,
    }),
    "the response's head to GET /events at once, before any event: write the head " +
      "(res.flushHeaders()) as soon as the stream opens, or the client waits for the first event",
  );
  rethrowStub(response.status);
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  let body = "";
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (ms) => retries.push(ms),
  });
  let state: "open" | "ended" | "broken" = "open";
  const ended = (async (): Promise<"ended" | "broken"> => {
    const decoder = new TextDecoder();
    try {
      if (response.body === null) return "ended";
      for await (const chunk of response.body) {
        const text = decoder.decode(chunk, { stream: true });
        body += text;
        parser.feed(text);
        wake();
      }
      return (state = "ended");
    } catch {
      return (state = "broken");
    } finally {
      if (state === "open") state = "ended";
      wake();
    }
  })();
  const until = async (done: () => boolean, why: string): Promise<void> => {
    let check = (): void => {};
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          check = () => {
            if (done()) resolve();
            else if (state !== "open")
              reject(new Error(`The stream ${state} before ${why}.\n  received: ${show(body)}`));
          };
          waiters.add(check);
          check();
        }),
        () => `Nothing after ${PATIENCE_MS} ms. Expected ${why}.\n  received so far: ${show(body)}`,
      );
    } finally {
      waiters.delete(check);
    }
  };
  return {
    response,
    text: () => body,
    events,
    comments,
    retries,
    until,
    async eventsAtLeast(count, why) {
      await until(() => events.length >= count, why);
      return events;
    },
    ended,
    abort: () => controller.abort(),
  };
}

/**
 * Resolves once the server counts `count` open streams, checking now and on each "streams" event
 * (never on a timer); fails with `why` and the count it saw after PATIENCE_MS.
 */
export async function streamsBecome(
  server: {
    readonly streams: number;
    on(e: "streams", l: (n: number) => void): unknown;
    off(e: "streams", l: (n: number) => void): unknown;
  },
  count: number,
  why: string,
): Promise<void> {
  let check = (): void => {};
  try {
    await within(
      new Promise<void>((resolve) => {
        check = () => {
          if (server.streams === count) resolve();
        };
        server.on("streams", check);
        check();
      }),
      () => {
        rethrowStub(); // a stub the server reached, and answered 500, says more than a count
        if (server.streams === count) {
          // The count came right, but nothing said so: this wait checks on each "streams" event.
          return (
            `The server counts ${count} open stream(s), as it should (${why}), but emitted no ` +
            `"streams" event when the count changed: emit "streams" with the new count each ` +
            "time a stream is added or released"
          );
        }
        return (
          `The server counts ${server.streams} open stream(s) after ${PATIENCE_MS} ms, where ${count} ` +
          `should be: ${why}`
        );
      },
    );
  } finally {
    server.off("streams", check);
  }
}

/** POST /messages with fetch: the message the feed stored. */
export async function post(origin: string, body: unknown = HI): Promise<{ id: number }> {
  const response = await within(
    fetch(`${origin}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    "an answer to POST /messages: lesson 05's feed API goes on working beside the streams",
  );
  rethrowStub(response.status);
  const text = await response.text();
  if (response.status !== 201)
    throw new Error(`POST /messages answered ${response.status}: ${text}`);
  return JSON.parse(text) as { id: number };
}
