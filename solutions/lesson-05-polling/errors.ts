/**
 * The one error class of this lesson's message feed, on both sides of the wire. Its `code` is
 * stable, so callers and tests branch on the code, never on the wording of the message. On the
 * server, `status` is the HTTP status the error is answered with, and the JSON error body carries
 * the same `code` (and `field` when one field of the input is to blame, `oldestId` when the
 * cursor is too old).
 *
 *   FEED_BAD_JSON                400  the POST body is not JSON                       (Step 2)
 *   FEED_BAD_MESSAGE             400  the JSON is not a valid message: `field` says   (Step 2)
 *   FEED_BAD_QUERY               400  `after` or `wait` is not a valid value          (Step 2, 3)
 *   FEED_CURSOR_EXPIRED          410  messages after `after` were dropped: resync     (Step 2, 4)
 *   FEED_BODY_TOO_LARGE          413  the POST body is over the byte cap              (Step 2)
 *   FEED_UNSUPPORTED_MEDIA_TYPE  415  the POST body is not application/json           (Step 2)
 *   FEED_NOT_FOUND               404  no such route                                   (Step 2)
 *   FEED_METHOD_NOT_ALLOWED      405  /messages with a method not GET, HEAD or POST   (Step 2)
 *   FEED_INTERNAL                500  a bug in the server, logged there               (Step 2)
 *   FEED_TOO_MANY_WAITERS        503  every long-poll slot is taken; retry later      (Step 3)
 *   FEED_NETWORK_ERROR           -    the client's request failed without a response  (Step 4)
 *   FEED_UNEXPECTED_STATUS       -    the client got a status not 200, 204 or 410     (Step 4)
 *   FEED_BAD_RESPONSE            -    the client got a body its status does not fit   (Step 4)
 *
 * A caller's bug is not a protocol error: a limit below 1, an option out of range. That is a
 * FeedRangeError, a RangeError with the stable code FEED_OUT_OF_RANGE (as Node's own
 * ERR_OUT_OF_RANGE), thrown at once, before anything is served.
 */
export type FeedErrorCode =
  | "FEED_BAD_JSON"
  | "FEED_BAD_MESSAGE"
  | "FEED_BAD_QUERY"
  | "FEED_CURSOR_EXPIRED"
  | "FEED_BODY_TOO_LARGE"
  | "FEED_UNSUPPORTED_MEDIA_TYPE"
  | "FEED_NOT_FOUND"
  | "FEED_METHOD_NOT_ALLOWED"
  | "FEED_INTERNAL"
  | "FEED_TOO_MANY_WAITERS"
  | "FEED_NETWORK_ERROR"
  | "FEED_UNEXPECTED_STATUS"
  | "FEED_BAD_RESPONSE";

export interface FeedErrorOptions extends ErrorOptions {
  /** The HTTP status this error is answered with (server), or the one that was received (client). */
  status?: number;
  /** The input field at fault: "author", "text", "after", "wait". */
  field?: string;
  /**
   * With FEED_CURSOR_EXPIRED: the id of the oldest message the feed still keeps. Every message
   * between the cursor and it is gone; `after=oldestId - 1` reads what is left.
   */
  oldestId?: number;
}

export class FeedError extends Error {
  readonly code: FeedErrorCode;
  readonly status: number | undefined;
  readonly field: string | undefined;
  readonly oldestId: number | undefined;

  constructor(code: FeedErrorCode, message: string, options: FeedErrorOptions = {}) {
    super(message, options);
    this.name = "FeedError";
    this.code = code;
    this.status = options.status;
    this.field = options.field;
    this.oldestId = options.oldestId;
  }
}

/** A value out of its range, passed by the code that calls the feed or the server: a bug there. */
export class FeedRangeError extends RangeError {
  readonly code = "FEED_OUT_OF_RANGE";

  constructor(message: string) {
    super(message);
    this.name = "FeedRangeError";
  }
}
