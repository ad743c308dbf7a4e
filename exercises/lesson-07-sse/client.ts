/**
 * A client for an event stream, on fetch and the Step 1 parser, as an async iterator of events:
 *
 *   for await (const event of events("http://127.0.0.1:8097/events", { signal })) console.log(event);
 *
 * It does what the HTML standard asks of EventSource (§9.2.3 "Processing model"): one GET that
 * asks for `text/event-stream`; a response that is not a 200 of that type fails the connection,
 * for good; a stream that ends, or a connection that drops, is reestablished after the
 * reconnection time (3 s, until the server sends `retry`), with `Last-Event-ID` saying where the
 * client got to, so that the server can send what it missed. A `204 No Content` is the server
 * telling it to stop: the iterator ends. When a connection cannot even be made, each new attempt
 * waits longer (exponential backoff with jitter, lesson 05's), on top of the reconnection time.
 * The signal stops it: the iterator just returns, and the response body is cancelled.
 */
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  sleep,
  type BackoffOptions,
} from "#reference/lesson-05-polling/backoff.ts";
import { todo } from "#shared/todo.ts";
import { EventStreamError, EventStreamRangeError } from "./errors.ts";
import { createParser, type ServerSentEvent } from "./parser.ts";

/**
 * The reconnection time before the server sets one: the standard leaves it to the user agent
 * ("an implementation-defined value, probably in the region of a few seconds"). 3 s, as Chromium.
 */
export const DEFAULT_RETRY_MS = 3_000;

export interface EventsOptions {
  /** Stops the iterator: it returns, and the response body is cancelled. */
  signal?: AbortSignal;
  /** The last event ID already seen, sent as Last-Event-ID from the first request on; "". */
  lastEventId?: string;
  /** The reconnection time until the server sends `retry` (ms). */
  retryMs?: number;
  /** The extra wait after connection attempts that failed in a row. */
  backoff?: BackoffOptions;
  /** The random source for the backoff's jitter; Math.random by default. */
  random?: () => number;
  /** The parser's cap on one event (bytes). */
  maxEventBytes?: number;
  /** Told about every reconnection before its pause: which attempt, how long, and why. */
  onReconnect?: (reconnect: Reconnect) => void;
}

export interface Reconnect {
  /** Connection attempts that failed in a row before this one: 0 after a stream that opened. */
  attempt: number;
  /** The pause before the next request: the reconnection time, plus a backoff after a failure. */
  delayMs: number;
  /** What the next request sends as Last-Event-ID ("": none). */
  lastEventId: string;
  /** SSE_NETWORK_ERROR when no response came or the connection dropped; none when the stream ended. */
  error?: EventStreamError;
}

/** The events of the stream at `url`, across reconnections, until it fails, ends for good, or is stopped. */
export function events(
  url: string | URL,
  options: EventsOptions = {},
): AsyncGenerator<ServerSentEvent, void, undefined> {
  // TODO: The URL is parsed once, before any request: a bad URL is a bug to report at once. A
  // retryMs (DEFAULT_RETRY_MS without it) that is not a whole number of ms, at least 0, is the
  // caller's bug too: an EventStreamRangeError. Without a signal, the client runs until the stream
  // fails or ends for good.
  // TODO: The events come from the Step 1 parser (createParser from "./parser.ts"), one for the
  // whole life of the client, started at options.lastEventId: its lastEventId is the one to send,
  // and its onRetry sets the reconnection time (retry).
  // TODO: Each request (§9.2.3): a GET with `Accept: text/event-stream` and the signal; with a
  // `Last-Event-ID` header only when the last event ID is not the empty string (§9.2.4), its value
  // UTF-8 encoded (fetch takes header values as byte strings, one character per byte, and refuses
  // a character above U+00FF). The standard's request also asks for no cache: Node's fetch has no
  // HTTP cache, and its types (@types/node 20) have no `cache` option, so leave it out.
  // TODO: What fetch refuses before it sends anything (a header value it cannot send, a URL with
  // credentials) is a TypeError of the Request constructor: a bug, to throw as it is, never a
  // network error to retry, which would repeat it for ever. Make the Request first
  // (new Request(url, { headers, signal })), then only what fetch(request) rejects with is the
  // network's.
  // TODO: 204 No Content: the server says stop; the iterator ends, with no reconnection (§9.2.7).
  // Any other status than 200 fails the connection for good: SSE_UNEXPECTED_STATUS, with the
  // status. A 200 whose Content-Type's type/subtype is not text/event-stream (compared without
  // case, RFC 9110 §8.3.1; parameters such as charset do not matter, the stream is UTF-8 anyway):
  // SSE_UNEXPECTED_CONTENT_TYPE, with the contentType that came. No retry for
  // either: asking again would get the same answer. Cancel the body of a response not read.
  // TODO: A 200 event stream opens a new stream for the parser (reset(): nothing of the last
  // response's unfinished line or event carries over). Feed it each chunk of the body as it comes,
  // and yield each event it dispatches, in order. (The body is a web ReadableStream of
  // Uint8Array; the type of one read of its reader is ReadableStreamReadResult<Uint8Array> from
  // "node:stream/web": this project loads Node's types, not the DOM's globals.)
  // TODO: Reconnect (§9.2.3, "reestablish the connection"): when the response ends, or its
  // connection drops, wait the reconnection time, then GET again. When fetch rejects (no response:
  // refused, reset), wait the reconnection time plus backoffDelay(attempt), attempts counted from 0
  // since the last stream that opened (a 200 event stream resets them). onReconnect hears of each
  // reconnection before its pause: attempt, delayMs, the lastEventId it will send, and for a
  // failure an SSE_NETWORK_ERROR.
  // TODO: Stopping: when the signal aborts (in a request, while reading, in a pause, or while the
  // consumer holds an event) the iterator just returns, with nothing rejected. However the reading
  // of a body ends (its end, an abort, the consumer's break, an error), cancel it: that closes
  // its connection.
  return todo("lesson-07-sse", "events()", "Step 3");
}
