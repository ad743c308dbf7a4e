/**
 * The one error class of this lesson's line protocol. Its `code` is stable, so callers and tests
 * branch on the code, never on the wording of the message.
 *
 *   LINE_TOO_LONG       a line grew past the byte limit before its LF arrived (Step 4)
 *   NEWLINE_IN_REQUEST  a request would smuggle a second line onto the wire (Step 6)
 *   CLIENT_CLOSED       request() after close() (Step 6)
 *   CONNECTION_CLOSED   the connection ended while a request was waiting for its reply (Step 6)
 *   UNEXPECTED_REPLY    a reply arrived that no request was waiting for (Step 6)
 */
export type LineProtocolErrorCode =
  | "LINE_TOO_LONG"
  | "NEWLINE_IN_REQUEST"
  | "CLIENT_CLOSED"
  | "CONNECTION_CLOSED"
  | "UNEXPECTED_REPLY";

export class LineProtocolError extends Error {
  readonly code: LineProtocolErrorCode;

  constructor(code: LineProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LineProtocolError";
    this.code = code;
  }
}
