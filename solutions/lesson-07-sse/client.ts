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
export async function* events(
  url: string | URL,
  options: EventsOptions = {},
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const {
    signal = new AbortController().signal, // one that never aborts
    backoff = DEFAULT_BACKOFF,
    random = Math.random,
    onReconnect,
  } = options;
  // Parse the URL once, before the loop: a bad URL is a bug to report, not a failure to retry.
  const target = new URL(url);
  let retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  if (!Number.isInteger(retryMs) || retryMs < 0) {
    throw new EventStreamRangeError(`retryMs must be a whole number of ms, not ${String(retryMs)}`);
  }

  // The parser calls back in the middle of feed(); a generator can only yield from its own body,
  // so the events of one chunk wait here until the loop below hands them out.
  const ready: ServerSentEvent[] = [];
  const parser = createParser(
    {
      onEvent: (event) => ready.push(event),
      onRetry: (ms) => (retryMs = ms),
    },
    { maxEventBytes: options.maxEventBytes, lastEventId: options.lastEventId },
  );
  let failures = 0;

  while (!signal.aborted) {
    // The request is made before the try: what its constructor refuses (a header value outside
    // ISO-8859-1, a URL with credentials) is a bug, here or in the caller, thrown as it is. Asking
    // again would only repeat it. What fetch(request) rejects with is the network's.
    const request = new Request(target, { headers: requestHeaders(parser.lastEventId), signal });
    let response: Response;
    try {
      response = await fetch(request);
    } catch (error) {
      if (signal.aborted) return; // stopped while the request was in flight
      // "if res is a network error, then reestablish the connection": after a longer wait each
      // time, "to avoid overloading a potentially already overloaded server" (§9.2.3).
      const failed = networkError(`GET ${target} failed`, error);
      const delayMs = retryMs + backoffDelay(failures, backoff, random);
      onReconnect?.({ attempt: failures, delayMs, lastEventId: parser.lastEventId, error: failed });
      failures++;
      if (!(await sleep(delayMs, signal))) return;
      continue;
    }

    // "Clients will reconnect if the connection is closed; a client can be told to stop
    // reconnecting using the HTTP 204 No Content response code." (§9.2.7)
    if (response.status === 204) {
      await cancel(response);
      return;
    }
    // "if res's status is not 200, or if res's `Content-Type` is not `text/event-stream`, then
    // fail the connection": no retry, as asking again would get the same answer.
    if (response.status !== 200) {
      await cancel(response);
      throw new EventStreamError(
        "SSE_UNEXPECTED_STATUS",
        `GET ${target} answered ${response.status}, not 200 with an event stream`,
        { status: response.status },
      );
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (mediaType(contentType) !== "text/event-stream" || response.body === null) {
      await cancel(response);
      throw new EventStreamError(
        "SSE_UNEXPECTED_CONTENT_TYPE",
        `GET ${target} answered 200 with Content-Type ${JSON.stringify(contentType)}, not text/event-stream`,
        { contentType },
      );
    }

    // The connection is open ("announce the connection"): the failures in a row are over, and the
    // parser starts a new stream (a BOM again, nothing left of the last response's partial event).
    failures = 0;
    parser.reset();
    let dropped: EventStreamError | undefined;
    const reader = response.body.getReader();
    try {
      for (;;) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (error) {
          if (signal.aborted) return; // the abort ended the body
          dropped = networkError(`GET ${target}: the connection dropped`, error);
          break;
        }
        if (read.done) break; // the server ended the response
        parser.feed(read.value);
        while (ready.length > 0) {
          yield ready.shift() as ServerSentEvent;
          if (signal.aborted) return; // stopped while the consumer held an event
        }
      }
    } finally {
      // However the loop is left (the stream's end, an abort, the consumer's break, an error),
      // cancel the body: that closes the connection, rather than leaving it to be read.
      await reader.cancel().catch(() => {});
    }

    // The stream ended or dropped: "reestablish the connection" after the reconnection time.
    onReconnect?.({
      attempt: 0,
      delayMs: retryMs,
      lastEventId: parser.lastEventId,
      error: dropped,
    });
    if (!(await sleep(retryMs, signal))) return;
  }
}

/**
 * `Accept: text/event-stream`, and the last event ID when there is one (§9.2.4: "if the event
 * source's last event ID string is not the empty string"), UTF-8 encoded. fetch takes header
 * values as byte strings, one character per byte: the UTF-8 bytes go in as Latin-1 characters.
 */
function requestHeaders(lastEventId: string): Record<string, string> {
  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (lastEventId !== "") {
    headers["Last-Event-ID"] = Buffer.from(lastEventId, "utf8").toString("latin1");
  }
  return headers;
}

/** The type/subtype of a Content-Type value, lowercased: `text/event-stream; charset=utf-8`. */
function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** Frees a response's connection without reading its body. */
async function cancel(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

function networkError(what: string, error: unknown): EventStreamError {
  // fetch rejects with a TypeError ("fetch failed", "terminated") whose cause is the socket's
  // error: refused, reset, or closed before the response or the stream was whole.
  const cause = (error as Error).cause as { code?: string } | undefined;
  return new EventStreamError("SSE_NETWORK_ERROR", `${what}: ${cause?.code ?? String(error)}`, {
    cause: error,
  });
}
