/**
 * The one error type of this lesson. Every refusal has a stable `code`, which tests assert and an
 * error response names, and the status code a server answers it with.
 */

/** Every way a message can be refused, and the status code a server answers with. */
const STATUS_OF = {
  HTTP_BAD_REQUEST_LINE: 400,
  HTTP_BAD_STATUS_LINE: 502,
  HTTP_VERSION_NOT_SUPPORTED: 505,
  HTTP_BARE_LF: 400,
  HTTP_BAD_HEADER: 400,
  HTTP_OBS_FOLD: 400,
  HTTP_BAD_HOST: 400,
  HTTP_BAD_CONTENT_LENGTH: 400,
  HTTP_CONFLICTING_FRAMING: 400,
  HTTP_BAD_TRANSFER_ENCODING: 400,
  HTTP_UNSUPPORTED_TRANSFER_CODING: 501,
  HTTP_BAD_CHUNK: 400,
  HTTP_HEADERS_TOO_LARGE: 431,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_INCOMPLETE_MESSAGE: 400,
  // The writers' own refusals: a message this side was about to send is invalid. That is a bug
  // in the code that built it, so a server that answers with it says 500.
  HTTP_INVALID_STATUS: 500,
  HTTP_INVALID_FIELD: 500,
} as const;

export type HttpErrorCode = keyof typeof STATUS_OF;

/** The one error type of this lesson: a stable `code` to test against and the status it maps to. */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly status: number;

  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.name = "HttpError";
    this.code = code;
    this.status = STATUS_OF[code];
  }
}
