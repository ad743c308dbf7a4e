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
  // TODO: The options.url is parsed once, before any request: a bad URL is a bug to report at
  // once, not a failure to retry. The cursor starts at options.after (0: from the start).
  // TODO: Until the signal aborts: GET the feed with the cursor as `after` in the query, asking
  // for JSON (Accept: application/json, RFC 9110 §12.5.1), with the signal. Read the whole body,
  // even an error's: the connection carries the next request only once the response's body has
  // been read (keep-alive, lesson 04).
  // TODO: 200: the batch, checked with parseBatch(). 204 (a long poll's wait ended with no news):
  // an empty batch. 410: the messages after the cursor are gone and no retry brings them back:
  // end with FEED_CURSOR_EXPIRED, status 410 and the oldestId of the body (parseExpired()).
  // Any other status: FEED_UNEXPECTED_STATUS with that status. A body that is not JSON, or not
  // the shape expected: FEED_BAD_RESPONSE. fetch rejecting (refused, reset, closed before a whole
  // response) while the signal has not aborted: FEED_NETWORK_ERROR, with fetch's error as cause.
  // TODO: Yield each message of a batch once, oldest first, moving the cursor to its id. A message
  // not newer than the cursor is not yielded again: a correct server never sends one; be sure.
  // TODO: Retry what is worth another try: FEED_NETWORK_ERROR, and FEED_UNEXPECTED_STATUS with a
  // 5xx (the server may be restarting, or overloaded) or 429 Too Many Requests (RFC 6585 §4).
  // Another 4xx says this client's request is wrong, and FEED_CURSOR_EXPIRED that the messages are
  // gone: asking again fixes neither, so the iterator ends with that error. Each retry waits
  // backoffDelay(attempt), attempts counted from 0 since the last success, and onRetry hears of
  // it before its pause.
  // TODO: Pause intervalMs between polls, except after a batch that says more is waiting.
  // TODO: An abort is not an error: wherever it comes (in a request, in a pause, or while the
  // consumer holds a message of a batch), the iterator just returns.
  return todo("lesson-05-polling", "shortPoll()", "Step 4");
}

/** Holds a request open at the server at all times; yields each new message once, oldest first. */
export function longPoll(options: LongPollOptions): AsyncGenerator<Message, void, undefined> {
  // TODO: Every rule of shortPoll() holds, with two differences: each GET also asks for
  // `wait=waitMs` in its query, and there is no pause: once a batch is handed out (or a 204 says
  // the wait ended with no news), ask again at once.
  return todo("lesson-05-polling", "longPoll()", "Step 4");
}
