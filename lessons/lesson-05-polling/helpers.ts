/** Test helpers for lesson 05: a feed server on port 0, requests with fetch, and waiting on waiters. */
import { listen } from "../../shared/testing/net.ts";

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
  const { host, port } = await listen(server);
  return `http://${host}:${port}/messages`;
}

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POST /messages with a JSON body (a string is sent as it is). */
export async function post(url: string, body: unknown, contentType = "application/json") {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return reply(
    await fetch(url, { method: "POST", headers: { "Content-Type": contentType }, body: text }),
  );
}

/** GET /messages with a query: `get(url, "after=3&wait=100")`. */
export async function get(url: string, query = "", init: RequestInit = {}): Promise<Reply> {
  return reply(await fetch(query === "" ? url : `${url}?${query}`, init));
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

/**
 * Resolves once the feed counts `count` waiters, checking now and on each "waiting" event (never
 * with a timer). If one of `requests` is answered first, it fails: the server answered a request
 * it should have held.
 */
export function held(feed: WatchedFeed, count: number, ...requests: Promise<Reply>[]) {
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (feed.waiting !== count) return;
      feed.off("waiting", check);
      resolve();
    };
    feed.on("waiting", check);
    check();
    for (const request of requests) {
      request.then(
        (answer) => {
          feed.off("waiting", check);
          reject(
            new Error(
              `Expected the server to hold the long poll (${count} waiting), but it answered ` +
                `at once: ${summary(answer)}`,
            ),
          );
        },
        () => {},
      );
    }
  });
}

/** Every value the feed's "waiting" event reports from now on. */
export function recordWaiting(feed: WatchedFeed): number[] {
  const counts: number[] = [];
  feed.on("waiting", (count) => counts.push(count));
  return counts;
}
