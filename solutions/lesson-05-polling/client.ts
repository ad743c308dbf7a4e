/**
 * Two ways to read the feed, as async iterators of messages:
 *
 *   for await (const message of longPoll({ url, waitMs: 20_000, signal })) console.log(message);
 *
 * shortPoll asks every `intervalMs`, and mostly hears "nothing new". longPoll asks with a `wait`,
 * and the server holds the request until there is news; it asks again at once. Both keep a cursor
 * (the id of the last message yielded), so nothing is missed between requests and nothing comes
 * twice. Both retry a failed request after a backoff, and both stop when `signal` aborts: the
 * iterator just returns, with no request, timer or rejection left behind. A cursor the server no
 * longer serves (messages were dropped) ends the iterator with a FEED_CURSOR_EXPIRED error.
 */
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffOptions } from "./backoff.ts";
import { FeedError } from "./errors.ts";
import type { Message } from "./feed.ts";
import { parseBatch, parseExpired, type Batch } from "./schema.ts";

export interface PollOptions {
  /** The feed: `http://127.0.0.1:8095/messages`. */
  url: string | URL;
  /** The cursor to start from: the id of the last message already seen (0: from the start). */
  after?: number;
  /** Stops the iterator. */
  signal: AbortSignal;
  backoff?: BackoffOptions;
  /** The random source for the backoff's jitter; Math.random by default. */
  random?: () => number;
  /** Told about every retry before its pause: which attempt, how long, and why. */
  onRetry?: (retry: Retry) => void;
}

export interface Retry {
  /** 0 for the first retry since the last success. */
  attempt: number;
  delayMs: number;
  error: FeedError;
}

export interface ShortPollOptions extends PollOptions {
  /** The pause between the end of one poll and the start of the next (ms). */
  intervalMs: number;
}

export interface LongPollOptions extends PollOptions {
  /** The `wait` asked of the server (ms); the server may hold the request for less. */
  waitMs: number;
}

/** Polls every `intervalMs`; yields each new message once, oldest first. */
export function shortPoll(options: ShortPollOptions): AsyncGenerator<Message, void, undefined> {
  return poll(options, { pauseMs: options.intervalMs });
}

/** Holds a request open at the server at all times; yields each new message once, oldest first. */
export function longPoll(options: LongPollOptions): AsyncGenerator<Message, void, undefined> {
  return poll(options, { waitMs: options.waitMs, pauseMs: 0 });
}

/** The loop both share: request, yield, pause; on a failure, back off and try again. */
async function* poll(
  options: PollOptions,
  { waitMs, pauseMs }: { waitMs?: number; pauseMs: number },
): AsyncGenerator<Message, void, undefined> {
  const { signal, backoff = DEFAULT_BACKOFF, random = Math.random, onRetry } = options;
  // Parse the URL once, before the loop: a bad URL is a bug to report, not a failure to retry.
  const url = new URL(options.url);
  let after = options.after ?? 0;
  let attempt = 0;

  while (!signal.aborted) {
    let batch: Batch;
    try {
      batch = await fetchBatch(url, after, waitMs, signal);
    } catch (error) {
      if (signal.aborted) return; // stopped while the request was in flight
      if (!isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt, backoff, random);
      onRetry?.({ attempt, delayMs, error });
      attempt++;
      if (!(await sleep(delayMs, signal))) return; // stopped during the pause
      continue;
    }
    attempt = 0; // a success resets the backoff

    for (const message of batch.messages) {
      if (signal.aborted) return; // stopped while the consumer held a message
      // The cursor makes this impossible with a correct server; it costs one comparison to be sure.
      if (message.id <= after) continue;
      after = message.id;
      yield message;
    }
    // More waiting at the server (the batch was cut at its limit): ask again now.
    if (batch.more || pauseMs === 0) continue;
    if (!(await sleep(pauseMs, signal))) return;
  }
}

/** One GET: the batch after the cursor (an empty one for a 204), or a FeedError. */
async function fetchBatch(
  feed: URL,
  after: number,
  waitMs: number | undefined,
  signal: AbortSignal,
): Promise<Batch> {
  const url = new URL(feed);
  url.searchParams.set("after", String(after));
  if (waitMs !== undefined) url.searchParams.set("wait", String(waitMs));

  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { signal, headers: { Accept: "application/json" } });
    // Read the whole body even when it is an error: that frees the connection for the next
    // request (keep-alive, lesson 04).
    body = await response.text();
  } catch (error) {
    if (signal.aborted) throw error;
    // fetch rejects with a TypeError ("fetch failed") whose cause is the socket's error:
    // refused, reset, or closed before a whole response arrived.
    const cause = (error as Error).cause as { code?: string } | undefined;
    throw new FeedError("FEED_NETWORK_ERROR", `GET ${url} failed: ${cause?.code ?? error}`, {
      cause: error,
    });
  }

  // The wait ended with no news.
  if (response.status === 204) return { messages: [], more: false };
  if (response.status === 410) {
    // The messages after our cursor were dropped: no retry brings them back, and reading on from
    // what is kept would hide the gap. The caller decides: start over, or accept the loss.
    const { oldestId } = parseExpired(parseJson(url, response.status, body));
    throw new FeedError(
      "FEED_CURSOR_EXPIRED",
      `GET ${url} answered 410: the messages after ${after} are gone; the oldest kept is ${oldestId}`,
      { status: 410, oldestId },
    );
  }
  if (response.status !== 200) {
    throw new FeedError(
      "FEED_UNEXPECTED_STATUS",
      `GET ${url} answered ${response.status}: ${body.slice(0, 200)}`,
      { status: response.status },
    );
  }
  return parseBatch(parseJson(url, response.status, body));
}

/** A response's body as JSON, or FEED_BAD_RESPONSE. */
function parseJson(url: URL, status: number, body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new FeedError("FEED_BAD_RESPONSE", `GET ${url} answered ${status} with no JSON`, {
      cause: error,
    });
  }
}

/**
 * Worth another try: the network failed, the server failed (5xx: it may be restarting, or
 * overloaded), or it asked us to slow down (429 Too Many Requests). Any other 4xx says that this
 * client's request is wrong, and asking again will not make it right: that is a bug to surface.
 * So is FEED_CURSOR_EXPIRED (410): the messages it reports are gone for good.
 */
function isRetryable(error: unknown): error is FeedError {
  if (!(error instanceof FeedError)) return false;
  if (error.code === "FEED_NETWORK_ERROR") return true;
  if (error.code !== "FEED_UNEXPECTED_STATUS" || error.status === undefined) return false;
  return error.status === 429 || error.status >= 500;
}
