/**
 * The one error class of this lesson's event streams. Its `code` is stable, so callers and tests
 * branch on the code, never on the wording of the message.
 *
 * The parser throws none of these: the event-stream format says to ignore a line it cannot use and
 * read on, so the parser hands them to its `onError` callback and goes on parsing.
 *
 *   SSE_INVALID_RETRY             a `retry` whose value is not only ASCII digits: ignored   (Step 1)
 *   SSE_INVALID_ID                an `id` whose value contains U+0000 NULL: ignored         (Step 1)
 *   SSE_UNKNOWN_FIELD             a field that is not event, data, id or retry: ignored     (Step 1)
 *   SSE_EVENT_TOO_LARGE           the event buffered past maxEventBytes: dropped            (Step 1)
 *
 * The client throws the last two; the first is what it tells onReconnect about a failed attempt:
 *
 *   SSE_NETWORK_ERROR             no response, or the connection dropped: reconnect         (Step 3)
 *   SSE_UNEXPECTED_STATUS         a status other than 200 (and 204): `status` says          (Step 3)
 *   SSE_UNEXPECTED_CONTENT_TYPE   a 200 that is not text/event-stream: `contentType` says   (Step 3)
 *
 * The server throws none of them either. What it answers itself, in a JSON body, beside lesson
 * 05's FEED_* codes from its app:
 *
 *   SSE_INTERNAL            500   a bug before a stream's head was sent, logged there       (Step 2)
 *
 * A caller's bug is not a protocol error: a cap below 1, a negative reconnection time. That is an
 * EventStreamRangeError, a RangeError with the stable code SSE_OUT_OF_RANGE (as Node's own
 * ERR_OUT_OF_RANGE), thrown at once.
 */
export type EventStreamErrorCode =
  | "SSE_INVALID_RETRY"
  | "SSE_INVALID_ID"
  | "SSE_UNKNOWN_FIELD"
  | "SSE_EVENT_TOO_LARGE"
  | "SSE_NETWORK_ERROR"
  | "SSE_UNEXPECTED_STATUS"
  | "SSE_UNEXPECTED_CONTENT_TYPE";

export interface EventStreamErrorOptions extends ErrorOptions {
  /** The line that was ignored, without its line end (the parser's errors). */
  line?: string;
  /** The HTTP status received (SSE_UNEXPECTED_STATUS). */
  status?: number;
  /** The Content-Type received, or "" without one (SSE_UNEXPECTED_CONTENT_TYPE). */
  contentType?: string;
}

export class EventStreamError extends Error {
  readonly code: EventStreamErrorCode;
  readonly line: string | undefined;
  readonly status: number | undefined;
  readonly contentType: string | undefined;

  constructor(code: EventStreamErrorCode, message: string, options: EventStreamErrorOptions = {}) {
    super(message, options);
    this.name = "EventStreamError";
    this.code = code;
    this.line = options.line;
    this.status = options.status;
    this.contentType = options.contentType;
  }
}

/** A value out of its range, passed by the code that calls the parser or the client: a bug there. */
export class EventStreamRangeError extends RangeError {
  readonly code = "SSE_OUT_OF_RANGE";

  constructor(message: string) {
    super(message);
    this.name = "EventStreamRangeError";
  }
}
