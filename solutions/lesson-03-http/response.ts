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
import { HttpError } from "./errors.ts";
import { FIELD_VALUE, TOKEN } from "./grammar.ts";

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
  return {
    status,
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(value),
  };
}

/** The reply to a request the parser refused: its status, and a body that names the problem. */
export function errorResponse(error: HttpError): HttpResponse {
  return json(error.status, { error: error.message, code: error.code });
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
  const { status, headers = {}, body = "" } = response;
  const reason = STATUS_TEXT[status];
  // Every code in the table is a three-digit code with a reason; any other value is refused.
  if (reason === undefined) {
    throw new HttpError("HTTP_INVALID_STATUS", `Invalid status code: ${JSON.stringify(status)}`);
  }

  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const name in headers) {
    // The writer counts the body itself: a caller's own Content-Length would make two, and a
    // client must refuse two (RFC 9112 §6.3). Its value is the writer's, whatever was given.
    if (name.toLowerCase() !== "content-length") head += fieldLine(name, headers[name] as string);
  }
  // RFC 9110 §8.6: Content-Length is the number of octets, not of characters: "Zoë" is 4 bytes.
  // A response to HEAD carries the length a GET would have had.
  const bodyLength = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.length;
  head += `Content-Length: ${bodyLength}\r\n`;
  // RFC 9110 §6.6.1: an origin server with a clock MUST send Date in 2xx, 3xx and 4xx
  // responses (and may in the others), as an IMF-fixdate
  // ("Sun, 06 Nov 1994 08:49:37 GMT"), which is what toUTCString() produces.
  head += `Date: ${options.date === undefined ? httpDate() : options.date.toUTCString()}\r\n`;
  // RFC 9112 §9.6: "A server that sends a "close" connection option MUST initiate closure of the
  // connection (see below) after it sends the response containing the "close" connection
  // option." This lesson's server does, after every response.
  const connection = options.connection ?? { Connection: "close" };
  for (const name in connection) head += fieldLine(name, connection[name] as string);
  head += "\r\n";

  // One buffer, sized once: the head is written into it as latin1 (one byte per character: the
  // field checks above allow nothing else), the body after it. No intermediate buffers to copy.
  const headLength = head.length;
  const bytes = Buffer.allocUnsafe(headLength + (options.head ? 0 : bodyLength));
  bytes.write(head, 0, "latin1");
  if (!options.head) {
    if (typeof body === "string") bytes.write(body, headLength, "utf8");
    else body.copy(bytes, headLength);
  }
  return bytes;
}

/**
 * The Date header's value for "now". An IMF-fixdate has a resolution of one second, so it is
 * computed at most once a second and reused by every response in between, as Node's own server
 * does: formatting a date is slow next to the rest of a small response.
 */
let cachedDate = "";
let cachedSecond = -1;
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(now).toUTCString();
  }
  return cachedDate;
}

/**
 * One field line, `name: value`. A name that is not a token, or a CR or LF in a value, would end
 * the field early and let it inject lines of its own: response splitting (RFC 9112 §11.1).
 */
function fieldLine(name: string, value: string): string {
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw new HttpError(
      "HTTP_INVALID_FIELD",
      `Invalid header field: ${JSON.stringify(name)}: ${JSON.stringify(value)}`,
    );
  }
  return `${name}: ${value}\r\n`;
}
