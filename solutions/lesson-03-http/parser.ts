/**
 * An incremental HTTP/1.1 message parser (RFC 9112). Bytes go in with `feed(chunk)`, whole
 * messages come out, and a partial message waits inside the parser for more bytes:
 *
 *   "GET /profile/123 HTTP/1.1\r\n"    start-line      (request line or status line)
 *   "Host: example.com\r\n"            field-lines     (one header per line)
 *   "\r\n"                             end of the head: decide how the body is framed
 *   "...body..."                       body-by-length | chunk-size / chunk-data / trailers
 *
 * `MessageParser` owns the loop and the states. `RequestParser` adds what is particular to
 * requests: the request line and the request framing rules. The client's `ResponseParser`
 * (client.ts) reuses the same machine with a status line and the response framing rules.
 */

/** Largest head (start line + header fields) accepted; a bigger one gets 431. */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Largest request body accepted, after chunked decoding; a bigger one gets 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Longest chunk-size line, extensions included (extensions are ignored, so they stay small). */
export const MAX_CHUNK_LINE_BYTES = 256;

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

/**
 * Header fields by lowercased name; repeated lines are combined with ", " (RFC 9110 §5.3). The
 * record has no prototype: a field called `__proto__` or `constructor` is ordinary data, not a
 * property every object inherits.
 */
export type Headers = Record<string, string>;

/** An empty header record with no prototype, so that every name from the wire is just a name. */
function emptyHeaders(): Headers {
  return Object.create(null) as Headers;
}

export interface HttpRequest {
  method: string;
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  headers: Headers;
  body: Buffer;
}

export interface Limits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

/** How the body after the head is delimited (RFC 9112 §6.3). */
export type Framing =
  { kind: "length"; length: number } | { kind: "chunked" } | { kind: "until-close" };

type State =
  | "start-line"
  | "field-lines"
  | "body-by-length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-data-end"
  | "trailers"
  | "body-until-close";

const CR = 0x0d;
const LF = 0x0a;

export abstract class MessageParser<Message> {
  private state: State = "start-line";
  private readonly limits: Limits;
  private failure: HttpError | undefined;
  private beforeFailure: Message[] = [];

  // A line whose LF has not arrived yet: its pieces, kept until the LF comes (no re-copying).
  private lineParts: Buffer[] = [];
  private lineSize = 0;
  // Bytes of the current head (or trailer section) so far, for the cap.
  private headBytes = 0;
  private headers: Headers = emptyHeaders();
  // The body so far, and how many bytes are left in the body or in the current chunk.
  private bodyParts: Buffer[] = [];
  private bodySize = 0;
  private remaining = 0;

  constructor(limits: Limits) {
    this.limits = limits;
  }

  /** Validates and keeps the first line of a message. */
  protected abstract startLine(line: string): void;
  /** Decides how the body is delimited, once the header fields are known. */
  protected abstract framing(headers: Headers): Framing;
  /** Builds the finished message. */
  protected abstract message(headers: Headers, body: Buffer): Message;

  /**
   * Consumes a chunk of bytes, as it came off the socket, and returns the messages it completed:
   * none (need more bytes), one, or several (two requests in one write). Throws an HttpError on
   * the first malformed byte; the parser is then unusable, as is the connection.
   */
  feed(chunk: Buffer): Message[] {
    if (this.failure) throw this.failure;
    const done: Message[] = [];
    try {
      return this.consume(chunk, done);
    } catch (error) {
      if (error instanceof HttpError) {
        this.failure = error;
        this.beforeFailure = done;
      }
      throw error;
    }
  }

  /**
   * The messages that the feed() call which threw had completed before its malformed byte. A
   * request written just before a bad one, in the same chunk, is whole: a server answers it, then
   * the error, as it would have had the two arrived in separate chunks.
   */
  get completedBeforeError(): readonly Message[] {
    return this.beforeFailure;
  }

  /**
   * Where the bytes fed so far stop: "between" two messages (no byte of the next one yet, an
   * ignored empty line included), in a "head" (part of its start line or field lines), or in a
   * "body". A persistent server's timers read it (lesson 04): the clock for a head runs while it
   * says "head".
   */
  get phase(): "between" | "head" | "body" {
    if (this.state === "start-line") return this.lineSize > 0 ? "head" : "between";
    return this.state === "field-lines" ? "head" : "body";
  }

  /** The peer closed the connection: completes a body delimited by the close, if one is open. */
  end(): Message[] {
    if (this.failure) throw this.failure;
    if (this.state === "body-until-close") return [this.finish()];
    // RFC 9112 §8: a message cut off before its framing says it ends is incomplete.
    if (this.state !== "start-line" || this.lineSize > 0) {
      throw new HttpError(
        "HTTP_INCOMPLETE_MESSAGE",
        `The connection closed in state ${this.state}, before the message was complete`,
      );
    }
    return [];
  }

  /** The state machine: one loop, one case per state, each case taking the bytes it needs. */
  private consume(chunk: Buffer, done: Message[]): Message[] {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case "start-line": {
          const line = this.takeHeadLine(chunk, at);
          if (line === undefined) return done;
          at = line.next;
          // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line
          // SHOULD ignore at least one empty line (CRLF) received prior to the request-line."
          if (line.bytes.length === 0) break;
          this.startLine(line.bytes.toString("latin1"));
          this.state = "field-lines";
          break;
        }

        case "field-lines": {
          const line = this.takeHeadLine(chunk, at);
          if (line === undefined) return done;
          at = line.next;
          if (line.bytes.length > 0) {
            const [name, value] = parseFieldLine(line.bytes);
            this.addField(name, value);
            break;
          }
          // The empty line ends the head. Now the framing says where the body ends.
          const framing = this.framing(this.headers);
          if (framing.kind === "chunked") {
            this.state = "chunk-size";
          } else if (framing.kind === "until-close") {
            this.remaining = Infinity;
            this.state = "body-until-close";
          } else if (framing.length > this.limits.maxBodyBytes) {
            throw bodyTooLarge(framing.length, this.limits);
          } else if (framing.length === 0) {
            done.push(this.finish());
          } else {
            this.remaining = framing.length;
            this.state = "body-by-length";
          }
          break;
        }

        case "body-by-length": {
          at = this.takeBody(chunk, at);
          if (this.remaining === 0) done.push(this.finish());
          break;
        }

        case "chunk-size": {
          // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
          const line = this.takeLine(chunk, at, MAX_CHUNK_LINE_BYTES, () => {
            return new HttpError(
              "HTTP_BAD_CHUNK",
              `A chunk-size line is longer than ${MAX_CHUNK_LINE_BYTES} bytes`,
            );
          });
          if (line === undefined) return done;
          at = line.next;
          const size = parseChunkSize(line.bytes);
          if (size === 0) {
            // RFC 9112 §7.1: "The chunked transfer coding is complete when a chunk with a
            // chunk-size of zero is received, possibly followed by a trailer section, and
            // finally terminated by an empty line."
            this.headBytes = 0;
            this.state = "trailers";
          } else if (this.bodySize + size > this.limits.maxBodyBytes) {
            throw bodyTooLarge(this.bodySize + size, this.limits);
          } else {
            this.remaining = size;
            this.state = "chunk-data";
          }
          break;
        }

        case "chunk-data": {
          at = this.takeBody(chunk, at);
          if (this.remaining === 0) this.state = "chunk-data-end";
          break;
        }

        case "chunk-data-end": {
          // The CRLF after chunk-data: an empty line. Anything else means the size was wrong.
          const line = this.takeLine(chunk, at, 0, () => {
            return new HttpError("HTTP_BAD_CHUNK", "Chunk data is longer than its chunk-size");
          });
          if (line === undefined) return done;
          at = line.next;
          this.state = "chunk-size";
          break;
        }

        case "trailers": {
          const line = this.takeHeadLine(chunk, at);
          if (line === undefined) return done;
          at = line.next;
          // RFC 9112 §7.1.2: a recipient that removes the chunked coding "MAY selectively retain
          // or discard the received trailer fields". They are checked, then discarded.
          if (line.bytes.length > 0) parseFieldLine(line.bytes);
          else done.push(this.finish());
          break;
        }

        case "body-until-close": {
          at = this.takeBody(chunk, at);
          if (this.bodySize > this.limits.maxBodyBytes) {
            throw bodyTooLarge(this.bodySize, this.limits);
          }
          break;
        }
      }
    }
    return done;
  }

  /** A line of the head or trailer section, counted against the header cap. */
  private takeHeadLine(chunk: Buffer, from: number): { bytes: Buffer; next: number } | undefined {
    const budget = this.limits.maxHeaderBytes - this.headBytes;
    const line = this.takeLine(chunk, from, budget - 2, () => {
      return new HttpError(
        "HTTP_HEADERS_TOO_LARGE",
        `The header section is larger than ${this.limits.maxHeaderBytes} bytes`,
      );
    });
    if (line !== undefined) this.headBytes += line.bytes.length + 2;
    return line;
  }

  /**
   * The bytes of one line, without its CRLF, or `undefined`: need more bytes. A line split across
   * chunks waits in `lineParts`; only the new chunk is searched for the LF, so a long line fed one
   * byte at a time costs linear time, not quadratic. `limit` caps the line's length.
   */
  private takeLine(
    chunk: Buffer,
    from: number,
    limit: number,
    tooLong: () => HttpError,
  ): { bytes: Buffer; next: number } | undefined {
    const lf = chunk.indexOf(LF, from);
    const end = lf === -1 ? chunk.length : lf;
    // + 1: the CR before the LF is not part of the line, but it is held until the LF comes.
    if (this.lineSize + (end - from) > limit + 1) throw tooLong();
    if (lf === -1) {
      this.lineParts.push(chunk.subarray(from));
      this.lineSize += chunk.length - from;
      return undefined;
    }
    this.lineParts.push(chunk.subarray(from, lf));
    const line = Buffer.concat(this.lineParts, this.lineSize + (lf - from));
    this.lineParts = [];
    this.lineSize = 0;
    // RFC 9112 §2.2: the line terminator is CRLF, and "a recipient MAY recognize a single LF as a
    // line terminator". This parser does not: like Node's own, it refuses a bare LF, so it never
    // splits lines where a stricter server behind or in front of it would not.
    if (line.length === 0 || line[line.length - 1] !== CR) {
      throw new HttpError(
        "HTTP_BARE_LF",
        `A line ends in a bare LF, not CRLF: ${JSON.stringify(line.toString("latin1"))}`,
      );
    }
    return { bytes: line.subarray(0, line.length - 1), next: lf + 1 };
  }

  /** Up to `remaining` body bytes from the chunk; returns where the unread bytes start. */
  private takeBody(chunk: Buffer, from: number): number {
    const take = Math.min(this.remaining, chunk.length - from);
    this.bodyParts.push(chunk.subarray(from, from + take));
    this.bodySize += take;
    this.remaining -= take;
    return from + take;
  }

  private addField(name: string, value: string): void {
    // RFC 9110 §5.3: repeated field lines may be combined "by appending each subsequent field
    // line value to the initial field line value in order, separated by a comma".
    const previous = this.headers[name];
    this.headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }

  private finish(): Message {
    const body = Buffer.concat(this.bodyParts, this.bodySize);
    const message = this.message(this.headers, body);
    this.state = "start-line";
    this.headBytes = 0;
    this.headers = emptyHeaders();
    this.bodyParts = [];
    this.bodySize = 0;
    this.remaining = 0;
    return message;
  }
}

export class RequestParser extends MessageParser<HttpRequest> {
  private method = "";
  private target = "";
  private version: HttpRequest["version"] = "HTTP/1.1";

  constructor(limits: Limits = { maxHeaderBytes: MAX_HEADER_BYTES, maxBodyBytes: MAX_BODY_BYTES }) {
    super(limits);
  }

  protected startLine(line: string): void {
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    const parts = line.split(" ");
    const [method = "", target = "", version = ""] = parts;
    if (parts.length !== 3 || !TOKEN.test(method) || !TARGET.test(target)) {
      throw new HttpError(
        "HTTP_BAD_REQUEST_LINE",
        `Malformed request line: ${JSON.stringify(line)}`,
      );
    }
    this.method = method;
    this.target = target;
    this.version = parseVersion(version, "HTTP_BAD_REQUEST_LINE");
  }

  protected framing(headers: Headers): Framing {
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
    // request message that lacks a Host header field and to any request message that contains
    // more than one Host header field line or a Host header field with an invalid field value."
    const host = headers["host"];
    if (this.version === "HTTP/1.1" && host === undefined) {
      throw new HttpError("HTTP_BAD_HOST", "An HTTP/1.1 request must have a Host header");
    }
    if (host !== undefined && host.includes(",")) {
      throw new HttpError("HTTP_BAD_HOST", `More than one Host header: ${JSON.stringify(host)}`);
    }
    return requestFraming(headers, this.version);
  }

  protected message(headers: Headers, body: Buffer): HttpRequest {
    return { method: this.method, target: this.target, version: this.version, headers, body };
  }
}

/**
 * RFC 9112 §6.3, the rules for a request, in their order of precedence. The ambiguous cases are
 * refused, because another server on the path could read them differently: that disagreement is
 * what request smuggling exploits.
 */
export function requestFraming(headers: Headers, version: string): Framing {
  const transferEncoding = headers["transfer-encoding"];
  const contentLength = headers["content-length"];
  if (transferEncoding !== undefined) {
    // §6.1: "A server MAY reject a request that contains both Content-Length and
    // Transfer-Encoding or process such a request in accordance with the Transfer-Encoding
    // alone." Rejecting is the safe choice.
    if (contentLength !== undefined) {
      throw new HttpError(
        "HTTP_CONFLICTING_FRAMING",
        "A request has both Content-Length and Transfer-Encoding",
      );
    }
    // §6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding "MUST treat the
    // message as if the framing is faulty".
    if (version === "HTTP/1.0") {
      throw new HttpError("HTTP_BAD_TRANSFER_ENCODING", "Transfer-Encoding in an HTTP/1.0 request");
    }
    return transferFraming(transferEncoding);
  }
  if (contentLength !== undefined) {
    return { kind: "length", length: parseContentLength(contentLength) };
  }
  // §6.3 rule 7: "If this is a request message and none of the above are true, then the message
  // body length is zero (no message body is present)."
  return { kind: "length", length: 0 };
}

/** Transfer-Encoding: only `chunked` is understood (RFC 9112 §6.1, §7.1). */
export function transferFraming(transferEncoding: string): Framing {
  const codings = transferEncoding.split(",").map((coding) => coding.trim().toLowerCase());
  // §6.3 rule 4: "If a Transfer-Encoding header field is present in a request and the chunked
  // transfer coding is not the final encoding, the message body length cannot be determined
  // reliably; the server MUST respond with the 400 (Bad Request) status code and then close the
  // connection."
  // §6.1: "A sender MUST NOT apply the chunked transfer coding more than once to a message body."
  if (codings.at(-1) !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
    throw new HttpError(
      "HTTP_BAD_TRANSFER_ENCODING",
      `Transfer-Encoding must end in chunked, once: ${JSON.stringify(transferEncoding)}`,
    );
  }
  // §6.1: "A server that receives a request message with a transfer coding it does not
  // understand SHOULD respond with 501 (Not Implemented)."
  if (codings.length > 1) {
    throw new HttpError(
      "HTTP_UNSUPPORTED_TRANSFER_CODING",
      `Unsupported transfer coding: ${JSON.stringify(transferEncoding)}`,
    );
  }
  return { kind: "chunked" };
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6). A repeated header arrives combined as "42, 42"; the
 * same value repeated may be taken as one, different values may not (RFC 9112 §6.3 rule 5).
 */
export function parseContentLength(value: string): number {
  const lengths = new Set(value.split(",").map((part) => part.trim()));
  const [length = ""] = lengths;
  if (lengths.size !== 1 || !/^\d{1,15}$/.test(length)) {
    throw new HttpError(
      "HTTP_BAD_CONTENT_LENGTH",
      `Invalid or conflicting Content-Length: ${JSON.stringify(value)}`,
    );
  }
  return Number(length);
}

/** tchar, RFC 9110 §5.6.2: the characters of a method or a field name. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A request-target is visible ASCII, no spaces (RFC 9112 §3.2, RFC 3986). */
export const TARGET = /^[\x21-\x7e]+$/;
/** field-value: visible ASCII, obs-text, SP and HTAB; no CR, LF or NUL (RFC 9110 §5.5). */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
export function parseFieldLine(line: Buffer): [name: string, value: string] {
  const text = line.toString("latin1");
  // RFC 9112 §5.2: a line starting with whitespace continues the previous one (obs-fold). "A
  // server that receives an obs-fold in a request message ... MUST either reject the message by
  // sending a 400 (Bad Request) ... or replace each received obs-fold with one or more SP octets".
  if (text.startsWith(" ") || text.startsWith("\t")) {
    throw new HttpError("HTTP_OBS_FOLD", `Obsolete line folding: ${JSON.stringify(text)}`);
  }
  const colon = text.indexOf(":");
  if (colon === -1) {
    throw new HttpError("HTTP_BAD_HEADER", `A header line has no colon: ${JSON.stringify(text)}`);
  }
  const name = text.slice(0, colon);
  // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon." Such a name is
  // not a token, so the test below refuses it too.
  if (!TOKEN.test(name)) {
    throw new HttpError("HTTP_BAD_HEADER", `Invalid header name: ${JSON.stringify(name)}`);
  }
  const value = text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
  if (!FIELD_VALUE.test(value)) {
    throw new HttpError("HTTP_BAD_HEADER", `Invalid character in the ${name} header value`);
  }
  // Field names are case-insensitive (RFC 9110 §5.1).
  return [name.toLowerCase(), value];
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). */
export function parseVersion(
  version: string,
  code: "HTTP_BAD_REQUEST_LINE" | "HTTP_BAD_STATUS_LINE",
): "HTTP/1.0" | "HTTP/1.1" {
  const match = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (match === null) throw new HttpError(code, `Invalid HTTP version: ${JSON.stringify(version)}`);
  if (match[1] !== "1") {
    throw new HttpError("HTTP_VERSION_NOT_SUPPORTED", `Unsupported HTTP version: ${version}`);
  }
  // RFC 9110 §2.5: a higher minor version is processed "as if it were in the highest minor
  // version within that major version to which the recipient is conformant".
  return match[2] === "0" ? "HTTP/1.0" : "HTTP/1.1";
}

/*
 * RFC 9112 §7.1.1, the grammar of a chunk-size line after the size:
 *
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *
 *   5;name="a \"quoted\" value; with a semicolon";flag;n=v
 *
 * Extensions are ignored, but checked: "5;" or an unclosed quote is a malformed line, and a
 * parser that skips such a line could frame the body differently from one that refuses it.
 */
const BWS = /[ \t]*/.source;
const TCHARS = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.source;
// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, where
// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text and
// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
const QUOTED_STRING = /"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"/
  .source;
const CHUNK_EXT = `(?:${BWS};${BWS}${TCHARS}(?:${BWS}=${BWS}(?:${TCHARS}|${QUOTED_STRING}))?)*`;
/** chunk-size [ chunk-ext ]: a whole chunk-size line, without its CRLF (RFC 9112 §7.1). */
export const CHUNK_SIZE_LINE = new RegExp(`^([0-9A-Fa-f]{1,8})${CHUNK_EXT}$`);

/** chunk-size = 1*HEXDIG, then extensions, which are checked and ignored (RFC 9112 §7.1.1). */
export function parseChunkSize(line: Buffer): number {
  const text = line.toString("latin1");
  // No whitespace after the size unless an extension follows: "a \r\n" is not a chunk-size line.
  const size = CHUNK_SIZE_LINE.exec(text)?.[1];
  if (size === undefined) {
    throw new HttpError("HTTP_BAD_CHUNK", `Invalid chunk-size line: ${JSON.stringify(text)}`);
  }
  return Number.parseInt(size, 16);
}

function bodyTooLarge(size: number, limits: Limits): HttpError {
  return new HttpError(
    "HTTP_BODY_TOO_LARGE",
    `A body of ${size} bytes is larger than the ${limits.maxBodyBytes} accepted`,
  );
}
