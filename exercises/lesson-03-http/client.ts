/**
 * A small HTTP/1.1 client on a raw TCP socket: it writes one request and reads one response with
 * the same parser machine as the server, given a status line and the response framing rules.
 *
 *   "GET /profile/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"  -->
 *   <--  "HTTP/1.1 200 OK\r\nContent-Length: 82\r\n...\r\n\r\n{...}"
 */
import { todo } from "#shared/todo.ts";
import { MessageParser, type Framing, type Headers } from "./parser.ts";

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

export class ResponseParser extends MessageParser<ClientResponse> {
  private readonly requestMethod: string;
  private version: ClientResponse["version"] = "HTTP/1.1";
  private status = 0;
  private reason = "";

  /** The method of the request matters: a response to HEAD has no body, whatever it says. */
  constructor(requestMethod: string) {
    super({ maxHeaderBytes: 64 * 1024, maxBodyBytes: MAX_RESPONSE_BODY_BYTES });
    this.requestMethod = requestMethod;
  }

  protected startLine(line: string): void {
    // TODO: RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    // TODO: Three digits for the status; the reason may be empty. Malformed:
    // HTTP_BAD_STATUS_LINE. Keep version (parseVersion), status and reason.
    return todo("lesson-03-http", "ResponseParser.startLine()", "Step 6");
  }

  /** RFC 9112 §6.3, the rules for a response, in their order of precedence. */
  protected framing(headers: Headers): Framing {
    // TODO: Rule 1: a response to HEAD, and any 1xx, 204 or 304 response, ends after the header
    // section, "regardless of the header fields present in the message".
    // TODO: Rule 3: with both Transfer-Encoding and Content-Length, "Transfer-Encoding overrides
    // the Content-Length. Such a message might indicate an attempt to perform request smuggling
    // ... and ought to be handled as an error": HTTP_CONFLICTING_FRAMING.
    // TODO: Rule 4: if chunked is not the final transfer coding, read until the server closes;
    // otherwise transferFraming().
    // TODO: Rules 5 and 6: a valid Content-Length is the body's length (parseContentLength).
    // TODO: Rule 8: otherwise, the body is everything until the server closes the connection.
    return todo("lesson-03-http", "ResponseParser.framing()", "Step 6");
  }

  protected message(headers: Headers, body: Buffer): ClientResponse {
    // TODO: The response: version, status, reason, headers and body.
    return todo("lesson-03-http", "ResponseParser.message()", "Step 6");
  }
}

/**
 * The bytes of a request: request line, Host, the given header fields, and Content-Length when
 * there is a body. Nothing about the connection: the caller adds that (request() below says
 * `Connection: close`; lesson 04's pool says nothing, and the connection persists).
 */
export function serializeRequest(options: RequestOptions): Buffer {
  // TODO: Defaults: method GET, path "/", no headers; a string body as UTF-8 bytes.
  // TODO: RFC 9112 §3.2: "A client MUST send a Host header field ... in all HTTP/1.1 request
  // messages." Then the given headers: a CR or LF would let a value inject header lines of its
  // own, or a second request (throw).
  // TODO: The length of the body in bytes; no body, no Content-Length (RFC 9110 §8.6).
  // TODO: Lines joined by CRLF, an empty line, then the body.
  return todo("lesson-03-http", "serializeRequest()", "Step 6");
}

/**
 * Sends one request on a new connection and resolves with the response. The request says
 * `Connection: close`, so the connection ends with the response.
 */
export function request(options: RequestOptions): Promise<ClientResponse> {
  // TODO: The bytes: serializeRequest() with the given headers and Connection: close.
  // TODO: Return a promise. Connect with net.connect; on "connect" write the bytes.
  // TODO: On "data", feed a ResponseParser(method); on "end", call parser.end(): the close ends
  // a close-delimited body, or cuts a message short (HTTP_INCOMPLETE_MESSAGE).
  // TODO: A 1xx response is interim (RFC 9110 §15.2): resolve with the first status >= 200,
  // then destroy the socket. Reject on any error, and destroy the socket.
  return todo("lesson-03-http", "request()", "Step 6");
}
