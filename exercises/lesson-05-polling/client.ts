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
import { todo } from "#shared/todo.ts";
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
  // TODO: The shared loop, pausing intervalMs between polls and sending no wait.
  return todo("lesson-05-polling", "shortPoll()", "Step 4");
}

/** Holds a request open at the server at all times; yields each new message once, oldest first. */
export function longPoll(options: LongPollOptions): AsyncGenerator<Message, void, undefined> {
  // TODO: The shared loop, with the wait and no pause: ask again at once.
  return todo("lesson-05-polling", "longPoll()", "Step 4");
}

/** The loop both share: request, yield, pause; on a failure, back off and try again. */
async function* poll(
  options: PollOptions,
  { waitMs, pauseMs }: { waitMs?: number; pauseMs: number },
): AsyncGenerator<Message, void, undefined> {
  // TODO: Parse the URL once, before the loop: a bad URL is a bug to report, not a failure to
  // retry. The cursor starts at options.after (0: from the start).
  // TODO: Until the signal aborts: ask for what is newer than the cursor, and yield each message
  // once, oldest first, moving the cursor to its id. A message not newer than the cursor is not
  // yielded again: the cursor makes that impossible with a correct server; be sure anyway.
  // TODO: A failed request that is worth another try (see isRetryable) is retried after
  // backoffDelay(attempt), counting attempts from 0 since the last success, and onRetry hears of
  // each retry before its pause. Any other error ends the iterator with that error.
  // TODO: The short poll pauses intervalMs between polls, except after a batch that says more is
  // waiting; the long poll asks again at once.
  // TODO: An abort is not an error: wherever it comes (in a request, in a pause, or while the
  // consumer holds a message of a batch), the iterator just returns.
  yield todo("lesson-05-polling", "poll()", "Step 4");
}

/** One GET: the batch after the cursor (an empty one for a 204), or a FeedError. */
async function fetchBatch(
  feed: URL,
  after: number,
  waitMs: number | undefined,
  signal: AbortSignal,
): Promise<Batch> {
  // TODO: GET the feed URL with `after` (and `wait` for a long poll) in its query, with the signal.
  // Read the whole body, even an error's: the connection carries the next request only once the
  // response's body has been read (keep-alive, lesson 04).
  // TODO: fetch rejecting, unless the signal aborted, means the network failed (refused, reset,
  // closed before a whole response): FEED_NETWORK_ERROR, with fetch's error as its cause.
  // TODO: 204: the wait ended with no news, an empty batch. 200: the batch, checked with
  // parseBatch(). 410: the messages after the cursor are gone and no retry brings them back:
  // FEED_CURSOR_EXPIRED with status 410 and the oldestId of the body (parseExpired()). Anything
  // else: FEED_UNEXPECTED_STATUS with the status. A body that is not JSON: FEED_BAD_RESPONSE.
  return todo("lesson-05-polling", "fetchBatch()", "Step 4");
}

/** A response's body as JSON, or FEED_BAD_RESPONSE. */
function parseJson(url: URL, status: number, body: string): unknown {
  // TODO: The body as JSON; a body that is not JSON: FEED_BAD_RESPONSE, naming the status.
  return todo("lesson-05-polling", "parseJson()", "Step 4");
}

/**
 * Worth another try: the network failed, the server failed (5xx: it may be restarting, or
 * overloaded), or it asked us to slow down (429 Too Many Requests). Any other 4xx says that this
 * client's request is wrong, and asking again will not make it right: that is a bug to surface.
 * So is FEED_CURSOR_EXPIRED (410): the messages it reports are gone for good.
 */
function isRetryable(error: unknown): error is FeedError {
  // TODO: A FeedError FEED_NETWORK_ERROR, or FEED_UNEXPECTED_STATUS with 429 or a 5xx status.
  return todo("lesson-05-polling", "isRetryable()", "Step 4");
}
