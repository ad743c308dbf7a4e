/** Test helpers for lesson 05: a feed server on port 0, requests with fetch, and waiting on waiters. */
import { getEventListeners } from "node:events";
import { onTestFinished } from "vitest";
import { listen } from "../../shared/testing/net.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { isNotWritten, loggedStub, watchServerLog } from "../../shared/testing/server-log.ts";

export { serverLog } from "../../shared/testing/server-log.ts";

/**
 * What the helpers need of a MessageFeed: its count of waiters and its "waiting" event. (A
 * structural type, so that the learner's feed and the reference feed both fit.)
 */
export interface WatchedFeed {
  readonly waiting: number;
  on(event: "waiting", listener: (count: number) => void): unknown;
  off(event: "waiting", listener: (count: number) => void): unknown;
}

/** What a test keeps of a response: status, header fields, and the body as text and as JSON. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Listens on 127.0.0.1:0 (closed when the test ends) and returns the feed's URL. */
export async function feedUrl(server: Parameters<typeof listen>[0]): Promise<string> {
  const { host, port } = await feedAddress(server);
  return `http://${host}:${port}/messages`;
}

/**
 * Listens on 127.0.0.1:0 (closed when the test ends) for a test that talks to the server over a
 * raw socket; such a test passes what it received to rethrowStub().
 */
export async function feedAddress(server: Parameters<typeof listen>[0]) {
  watchServerLog();
  return listen(server);
}

/** An error a test caught that is an unwritten stub's: fail with the stub's own message. */
export function rethrowIfNotWritten(error: unknown): void {
  if (isNotWritten(error)) throw error;
}

/**
 * Bytes a raw socket received: if they are a 500 because the server reached an unwritten stub,
 * fail with the stub's own message, as the fetch-based requests do.
 */
export function rethrowStub(bytes: Buffer): void {
  if (!bytes.toString("latin1").includes("HTTP/1.1 500 ")) return;
  const stub = loggedStub();
  if (stub !== undefined) throw stub;
}

async function reply(response: Response): Promise<Reply> {
  // A 500 because the server reached an unwritten stub: fail with the stub's message at once.
  const stub = response.status === 500 ? loggedStub() : undefined;
  if (stub !== undefined) throw stub;
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POST /messages with a JSON body (a string is sent as it is); the server must answer at once. */
export async function post(
  url: string,
  body: unknown,
  contentType = "application/json",
  headers: Record<string, string> = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const sent = fetch(url, {
    method: "POST",
    headers: { "Content-Type": contentType, ...headers },
    body: text,
  });
  return within(
    sent.then(reply),
    `an answer to POST /messages ${text.slice(0, 80)}: a POST is answered at once (201, or a 4xx ` +
      `that says what is wrong). Does every path through the handlers send a response or throw?`,
  );
}

/**
 * GET /messages with a query, `get(url, "after=3")`, for a request the server must answer at once:
 * a short poll, a refusal, a long poll with news already there or with a wait of a few ms.
 */
export async function get(url: string, query = "", init: RequestInit = {}): Promise<Reply> {
  const target = query === "" ? url : `${url}?${query}`;
  return within(
    poll(url, query, init),
    `an answer to ${init.method ?? "GET"} ${new URL(target).pathname}${query === "" ? "" : `?${query}`}` +
      `: this one is answered at once, not held`,
  );
}

/**
 * A long poll the server should hold: the promise of its answer, unbounded. The test bounds it
 * where it awaits it, with answer(), once it has posted the message that releases it.
 */
export function poll(url: string, query = "", init: RequestInit = {}): Promise<Reply> {
  return fetch(query === "" ? url : `${url}?${query}`, init).then(reply);
}

/** A held long poll's answer, which must come at once now (a message was posted). */
export function answer<T extends Reply | Reply[]>(held: Promise<T>, why: string): Promise<T> {
  return within(held, `the held long poll to be answered: ${why}`);
}

/**
 * An AbortController aborted when the test ends, pass or fail: a client iterator under test stops
 * there, with its requests and pauses, instead of running on into the next test.
 */
/** How many "abort" listeners the signal still holds: each keeps its listener's closure alive. */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, "abort").length;
}

export function stopper(): AbortController {
  const abort = new AbortController();
  onTestFinished(() => abort.abort());
  return abort;
}

/** The ids in a 200 reply's `messages`, to compare in one line. */
export function ids(reply: Reply): number[] {
  const body = reply.json as { messages?: { id: number }[] } | undefined;
  return (body?.messages ?? []).map((message) => message.id);
}

/** A reply as a line a failure message can show. */
export function summary(reply: Reply): string {
  return `${reply.status} ${reply.text === "" ? "(no body)" : reply.text}`;
}

export interface HeldOptions {
  /** Requests that must still be open: if one is answered first, the server did not hold it. */
  requests?: Promise<Reply>[];
  /** What to check when the count is not reached in time, in the learner's terms. */
  hint?: string;
}

/**
 * Resolves once the feed counts `count` waiters, checking now and on each "waiting" event (never
 * with a timer). It fails if one of `requests` is answered first (the server answered a request it
 * should have held), or if the count is still not reached after PATIENCE_MS, with `hint`.
 */
export async function held(
  feed: WatchedFeed,
  count: number,
  { requests = [], hint }: HeldOptions = {},
): Promise<void> {
  let check = (): void => {};
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        check = () => {
          if (feed.waiting === count) resolve();
        };
        feed.on("waiting", check);
        for (const request of requests) {
          request.then(
            (answer) =>
              reject(
                new Error(
                  `Expected the server to hold the long poll (${count} waiting), but it answered ` +
                    `at once: ${summary(answer)}`,
                ),
              ),
            // A request that failed was not held either: say why (a stub it reached, say).
            (error: unknown) => reject(error),
          );
        }
        check();
      }),
      () => stuck(feed.waiting, count, hint),
    );
  } finally {
    feed.off("waiting", check);
  }
}

/** Why held() gave up: the count it saw, the one it expected, and what to look at. */
function stuck(waiting: number, count: number, hint: string | undefined): string {
  const polls = (n: number) => `${n} long poll${n === 1 ? "" : "s"}`;
  const seen =
    waiting > count
      ? `Still ${polls(waiting)} waiting at the feed after ${PATIENCE_MS} ms, where ${count} ` +
        `should be left`
      : `Only ${polls(waiting)} waiting at the feed after ${PATIENCE_MS} ms, where ${count} ` +
        `should be held`;
  const why =
    hint ??
    (waiting > count
      ? 'is every waiter removed from the set when its wait ends, and is "waiting" emitted ' +
        "with the new count?"
      : 'is the request held with feed.waitFor(), and does waitFor() emit "waiting" with the ' +
        "new count?");
  return `${seen}: ${why}`;
}

/** Every value the feed's "waiting" event reports from now on. */
export function recordWaiting(feed: WatchedFeed): number[] {
  const counts: number[] = [];
  feed.on("waiting", (count) => counts.push(count));
  return counts;
}
