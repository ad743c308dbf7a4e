/**
 * A small HTTP/1.1 client on a raw TCP socket: it writes one request and reads one response with
 * the same parser machine as the server, given a status line and the response framing rules.
 *
 *   "GET /profile/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"  -->
 *   <--  "HTTP/1.1 200 OK\r\nContent-Length: 82\r\n...\r\n\r\n{...}"
 */
import { todo } from "#shared/todo.ts";
import type { Framing } from "./framing.ts";
import type { Headers } from "./grammar.ts";
import { MessageParser } from "./parser.ts";

/** Largest response body the client reads. */
export const MAX_RESPONSE_BODY_BYTES = 16 * 1024 * 1024;

export interface RequestOptions {
  host: string;
  port: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface ClientResponse {
  version: "HTTP/1.0" | "HTTP/1.1";
  status: number;
  reason: string;
  headers: Headers;
  body: Buffer;
}

/** The client's parser: status lines, and the response framing rules. */
export class ResponseParser extends MessageParser<ClientResponse> {
  private readonly requestMethod: string;

  /** The method of the request matters: a response to HEAD has no body, whatever it says. */
  constructor(requestMethod: string) {
    super({ maxHeaderBytes: 64 * 1024, maxBodyBytes: MAX_RESPONSE_BODY_BYTES });
    this.requestMethod = requestMethod;
  }

  protected startLine(line: string): void {
    // TODO: RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ], the
    // code three digits; the reason may be empty, the space before it may not. Malformed:
    // HTTP_BAD_STATUS_LINE; the version as parseVersion() reads it.
    return todo("lesson-03-http", "ResponseParser.startLine()", "Step 7");
  }

  /** RFC 9112 §6.3, the rules for a response, in their order of precedence. */
  protected framing(headers: Headers): Framing {
    // TODO: Rule 1: a response to HEAD, and any 1xx, 204 or 304 response, ends after the header
    // section, "regardless of the header fields present in the message".
    // TODO: Rule 3: with both Transfer-Encoding and Content-Length, "Transfer-Encoding overrides
    // the Content-Length. Such a message might indicate an attempt to perform request smuggling
    // ... and ought to be handled as an error": HTTP_CONFLICTING_FRAMING.
    // TODO: Rule 4: "If a Transfer-Encoding header field is present in a response and the
    // chunked transfer coding is not the final encoding, the message body length is determined
    // by reading the connection until it is closed by the server." Otherwise chunked.
    // TODO: Rules 5 and 6: a valid Content-Length is the body's length; an invalid one is an
    // unrecoverable error.
    // TODO: Rule 8: otherwise, the body is everything until the server closes the connection.
    return todo("lesson-03-http", "ResponseParser.framing()", "Step 7");
  }

  protected message(headers: Headers, body: Buffer): ClientResponse {
    return todo("lesson-03-http", "ResponseParser.message()", "Step 7");
  }
}

/**
 * The bytes of a request: request line, Host, the given header fields, and Content-Length when
 * there is a body. Nothing about the connection: the caller adds that (request() below says
 * `Connection: close`; lesson 04's pool says nothing, and the connection persists).
 */
export function serializeRequest(options: RequestOptions): Buffer {
  // TODO: RFC 9112 §3: request-line = method SP request-target SP HTTP-version (GET and "/"
  // when not given).
  // TODO: RFC 9112 §3.2: "A client MUST send a Host header field ... in all HTTP/1.1 request
  // messages": host:port.
  // TODO: The given fields. A name that is not a token, or a CR, LF or NUL in a value, would
  // inject lines of its own, or a second request (RFC 9112 §11.2): throw HttpError
  // HTTP_INVALID_FIELD.
  // TODO: RFC 9110 §8.6: a body's Content-Length counts its bytes; no body, no Content-Length.
  return todo("lesson-03-http", "serializeRequest()", "Step 7");
}

/**
 * Sends one request on a new connection and resolves with the response. The request says
 * `Connection: close`, so the connection ends with the response.
 */
export function request(options: RequestOptions): Promise<ClientResponse> {
  // TODO: One connection per request: the request says Connection: close.
  // TODO: A TCP chunk is not a response: feed every chunk to a ResponseParser for this
  // request's method. When the server closes, the parser's end() completes a body read until
  // the close, or finds the response cut short (HTTP_INCOMPLETE_MESSAGE); a close before any
  // response is HTTP_INCOMPLETE_MESSAGE too.
  // TODO: RFC 9110 §15.2: a 1xx response is interim; resolve with the first final (>= 200)
  // response. Any error rejects. Either way, the socket is destroyed: nothing may leak.
  return todo("lesson-03-http", "request()", "Step 7");
}
