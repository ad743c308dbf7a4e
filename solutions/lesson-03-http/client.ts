/**
 * A small HTTP/1.1 client on a raw TCP socket: it writes one request and reads one response with
 * the same parser machine as the server, given a status line and the response framing rules.
 *
 *   "GET /profile/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"  -->
 *   <--  "HTTP/1.1 200 OK\r\nContent-Length: 82\r\n...\r\n\r\n{...}"
 */
import net from "node:net";
import { HttpError } from "./errors.ts";
import { parseContentLength, transferFraming, type Framing } from "./framing.ts";
import { FIELD_VALUE, parseVersion, TOKEN, type Headers } from "./grammar.ts";
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
    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const match = /^(\S+) (\d{3}) ([\t\x20-\x7e\x80-\xff]*)$/.exec(line);
    if (match === null) {
      throw new HttpError("HTTP_BAD_STATUS_LINE", `Malformed status line: ${JSON.stringify(line)}`);
    }
    const [, version = "", status = "", reason = ""] = match;
    this.version = parseVersion(version, "HTTP_BAD_STATUS_LINE");
    this.status = Number(status);
    this.reason = reason;
  }

  /** RFC 9112 §6.3, the rules for a response, in their order of precedence. */
  protected framing(headers: Headers): Framing {
    // Rule 1: a response to HEAD, and any 1xx, 204 or 304 response, ends after the header
    // section, "regardless of the header fields present in the message".
    if (
      this.requestMethod === "HEAD" ||
      this.status < 200 ||
      this.status === 204 ||
      this.status === 304
    ) {
      return { kind: "length", length: 0 };
    }
    const transferEncoding = headers["transfer-encoding"];
    if (transferEncoding !== undefined) {
      // Rule 3: with both, "Transfer-Encoding overrides the Content-Length. Such a message might
      // indicate an attempt to perform request smuggling ... and ought to be handled as an error."
      if (headers["content-length"] !== undefined) {
        throw new HttpError(
          "HTTP_CONFLICTING_FRAMING",
          "A response has both Content-Length and Transfer-Encoding",
        );
      }
      // Rule 4: "If a Transfer-Encoding header field is present in a response and the chunked
      // transfer coding is not the final encoding, the message body length is determined by
      // reading the connection until it is closed by the server."
      const codings = transferEncoding.split(",").map((coding) => coding.trim().toLowerCase());
      if (codings.at(-1) !== "chunked") return { kind: "until-close" };
      return transferFraming(transferEncoding);
    }
    // Rules 5 and 6: a valid Content-Length is the body's length; an invalid one is an error.
    const contentLength = headers["content-length"];
    if (contentLength !== undefined) {
      return { kind: "length", length: parseContentLength(contentLength) };
    }
    // Rule 8: "Otherwise, this is a response message without a declared message body length, so
    // the message body length is determined by the number of octets received prior to the server
    // closing the connection."
    return { kind: "until-close" };
  }

  protected message(headers: Headers, body: Buffer): ClientResponse {
    return { version: this.version, status: this.status, reason: this.reason, headers, body };
  }
}

/**
 * The bytes of a request: request line, Host, the given header fields, and Content-Length when
 * there is a body. Nothing about the connection: the caller adds that (request() below says
 * `Connection: close`; lesson 04's pool says nothing, and the connection persists).
 */
export function serializeRequest(options: RequestOptions): Buffer {
  const { host, port, method = "GET", path = "/", headers = {}, body } = options;
  const bodyBytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;

  // RFC 9112 §3.2: "A client MUST send a Host header field ... in all HTTP/1.1 request messages."
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}:${port}`];
  for (const [name, value] of Object.entries(headers)) {
    // A name that is not a token, or a CR or LF in a value, would let a field inject lines of
    // its own, or a second request (RFC 9112 §11.2).
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
      throw new HttpError(
        "HTTP_INVALID_FIELD",
        `Invalid header field: ${JSON.stringify(name)}: ${JSON.stringify(value)}`,
      );
    }
    lines.push(`${name}: ${value}`);
  }
  // The length of the body in bytes; no body, no Content-Length (RFC 9110 §8.6).
  if (bodyBytes !== undefined) lines.push(`Content-Length: ${bodyBytes.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return bodyBytes === undefined ? head : Buffer.concat([head, bodyBytes]);
}

/**
 * Sends one request on a new connection and resolves with the response. The request says
 * `Connection: close`, so the connection ends with the response.
 */
export function request(options: RequestOptions): Promise<ClientResponse> {
  const { host, port, method = "GET", headers = {} } = options;
  const bytes = serializeRequest({ ...options, headers: { ...headers, Connection: "close" } });

  return new Promise((resolve, reject) => {
    const parser = new ResponseParser(method);
    const socket = net.connect({ host, port });
    socket.on("connect", onConnect);
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", reject);

    function onConnect(): void {
      socket.write(bytes);
    }

    function onData(chunk: Buffer): void {
      try {
        settle(parser.feed(chunk));
      } catch (error) {
        fail(error);
      }
    }

    function onEnd(): void {
      // The server closed: that ends a close-delimited body, or cuts a message short.
      try {
        if (!settle(parser.end())) {
          fail(new HttpError("HTTP_INCOMPLETE_MESSAGE", "The server closed without a response"));
        }
      } catch (error) {
        fail(error);
      }
    }

    /** Resolves with the final response, if it has arrived; says whether it had. */
    function settle(responses: ClientResponse[]): boolean {
      // A 1xx response is interim (RFC 9110 §15.2): the final response follows it.
      const response = responses.find((r) => r.status >= 200);
      if (response === undefined) return false;
      resolve(response);
      socket.destroy();
      return true;
    }

    function fail(error: unknown): void {
      reject(error);
      socket.destroy();
    }
  });
}
