/**
 * Writing a response (RFC 9112 §4, RFC 9110 §6):
 *
 *   "HTTP/1.1 200 OK\r\n"                         status-line
 *   "Content-Type: application/json\r\n"          header fields
 *   "Content-Length: 24\r\n"                      the body's length in BYTES (23 characters)
 *   "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
 *   "Connection: close\r\n"
 *   "\r\n"
 *   "{\"id\":123,\"name\":\"Zoë\"}"                the body (omitted for HEAD)
 */
import { todo } from "#shared/todo.ts";
import type { HttpError } from "./errors.ts";

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Reason phrases (RFC 9110 §15). Given: a table, not the point of the exercise. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  505: "HTTP Version Not Supported",
};

/** A JSON response. JSON is UTF-8, and its media type has no charset parameter (RFC 8259 §11). */
export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  // TODO: RFC 8259 §11: JSON's media type is application/json, with no charset parameter
  // (JSON is always UTF-8). The given header fields come on top of it.
  return todo("lesson-03-http", "json()", "Step 2");
}

/** The reply to a request the parser refused: its status, and a body that names the problem. */
export function errorResponse(error: HttpError): HttpResponse {
  // TODO: The error's status, and a JSON body that names its code and says what was wrong.
  return todo("lesson-03-http", "errorResponse()", "Step 2");
}

export interface WriteOptions {
  /** A response to HEAD: the same header fields as for GET, and no body (RFC 9110 §9.3.2). */
  head?: boolean;
  /** The Date header's time; now, unless a test pins it. */
  date?: Date;
  /**
   * The header fields that say what happens to the connection, written last. `Connection: close`
   * unless given: this lesson's server always closes. Lesson 04's persistent server passes its own.
   */
  connection?: Record<string, string>;
}

/** The bytes of a complete response, ending with the connection's fields (Connection: close). */
export function serializeResponse(response: HttpResponse, options: WriteOptions = {}): Buffer {
  // TODO: RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ], the
  // reason from STATUS_TEXT. A status that is not a three-digit code with a reason here is a bug
  // in the caller: throw HttpError HTTP_INVALID_STATUS, naming it.
  // TODO: RFC 9112 §5: field-line = field-name ":" OWS field-value. A name that is not a token,
  // or a CR, LF or NUL in a value, would end the field early and inject lines of its own
  // (response splitting, RFC 9112 §11.1): throw HttpError HTTP_INVALID_FIELD.
  // TODO: RFC 9110 §8.6: Content-Length is the number of octets, not of characters: "Zoë" is 4
  // bytes. A response to HEAD carries the length a GET would have had (RFC 9110 §9.3.2) and no
  // body.
  // TODO: RFC 9110 §6.6.1: an origin server with a clock MUST send Date (in 2xx, 3xx and 4xx
  // responses; it may in the others), as an IMF-fixdate (RFC 9110 §5.6.7).
  // TODO: RFC 9112 §9.6: a server that sends "close" MUST close the connection after the
  // response. This lesson's server always does: Connection: close, unless options.connection
  // gives the connection's fields instead (lesson 04).
  // TODO: The head is ASCII; CRLF ends each line, and an empty line ends the head. The order of
  // fields with different names does not matter (RFC 9110 §5.3).
  return todo("lesson-03-http", "serializeResponse()", "Step 2");
}
