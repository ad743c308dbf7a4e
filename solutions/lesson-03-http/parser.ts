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
import { HttpError } from "./errors.ts";
import { requestFraming, type Framing } from "./framing.ts";
import {
  parseChunkSize,
  parseFieldLine,
  parseVersion,
  TARGET,
  TOKEN,
  type Headers,
} from "./grammar.ts";

export { HttpError, type HttpErrorCode } from "./errors.ts";
export { parseContentLength, requestFraming, transferFraming, type Framing } from "./framing.ts";
export {
  CHUNK_SIZE_LINE,
  FIELD_VALUE,
  parseChunkSize,
  parseFieldLine,
  parseVersion,
  TARGET,
  TOKEN,
  type Headers,
} from "./grammar.ts";

/** Largest head (start line + header fields) accepted; a bigger one gets 431. */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Largest request body accepted, after chunked decoding; a bigger one gets 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Longest chunk-size line, extensions included (extensions are ignored, so they stay small). */
export const MAX_CHUNK_LINE_BYTES = 256;

/** An empty header record with no prototype, so that every name from the wire is just a name. */
function emptyHeaders(): Headers {
  return Object.create(null) as Headers;
}

/** A parsed request, as the server hands it to a handler. */
export interface HttpRequest {
  method: string;
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  headers: Headers;
  body: Buffer;
}

/** The caps a parser applies (STYLE: every buffer is capped). */
export interface Limits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

/**
 * The named states of the parser (RFC 9112 §2.1: start-line *( field-line CRLF ) CRLF
 * [ message-body ]). What each one waits for:
 *
 *   start-line        the request line (or status line); an empty line before it is skipped
 *   field-lines       a field line, or the empty line that ends the head
 *   body-by-length    the rest of a body of Content-Length bytes
 *   chunk-size        a chunk-size line (RFC 9112 §7.1)
 *   chunk-data        the rest of the current chunk's data
 *   chunk-data-end    the CRLF after a chunk's data
 *   trailers          a trailer field line, or the empty line that ends the message
 *   body-until-close  body bytes, until the peer closes (responses only: see end())
 */
export type State =
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

/**
 * The machine shared by requests and responses: one loop, one case per state, each case taking
 * the bytes it needs or saying "need more bytes". RequestParser and the client's ResponseParser
 * give it the start line and the framing rules.
 */
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
  // The names that came on more than one field line: once combined, "a, b" from two lines looks
  // like one line's "a, b".
  private repeated = new Set<string>();
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
  /**
   * Decides how the body is delimited, once the header fields are known. `repeated` names the
   * fields that came on more than one line: their values were combined, so a value alone cannot
   * tell two lines from one.
   */
  protected abstract framing(headers: Headers, repeated: ReadonlySet<string>): Framing;
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
          const framing = this.framing(this.headers, this.repeated);
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
    // A line that lies whole in this chunk (the usual case) is a view of the chunk's bytes, not a
    // copy; only a line split across chunks is put together from its pieces.
    let line = chunk.subarray(from, lf);
    if (this.lineParts.length > 0) {
      this.lineParts.push(line);
      line = Buffer.concat(this.lineParts, this.lineSize + (lf - from));
      this.lineParts = [];
      this.lineSize = 0;
    }
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
    if (previous !== undefined) this.repeated.add(name);
    this.headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }

  private finish(): Message {
    // A body that came in one piece (or none) is that piece, a view of the chunk: copying is only
    // needed to join pieces from several chunks.
    const body =
      this.bodyParts.length === 1
        ? (this.bodyParts[0] as Buffer)
        : Buffer.concat(this.bodyParts, this.bodySize);
    const message = this.message(this.headers, body);
    this.state = "start-line";
    this.headBytes = 0;
    this.headers = emptyHeaders();
    this.repeated = new Set();
    this.bodyParts = [];
    this.bodySize = 0;
    this.remaining = 0;
    return message;
  }
}

/** The server's parser: request lines, and the request framing rules. */
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

  protected framing(headers: Headers, repeated: ReadonlySet<string>): Framing {
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
    // request message that lacks a Host header field and to any request message that contains
    // more than one Host header field line or a Host header field with an invalid field value."
    const host = headers["host"];
    if (this.version === "HTTP/1.1" && host === undefined) {
      throw new HttpError("HTTP_BAD_HOST", "An HTTP/1.1 request must have a Host header");
    }
    // Two lines, not a comma: a single Host may hold one (a reg-name allows it, RFC 3986 §3.2.2).
    if (repeated.has("host")) {
      throw new HttpError("HTTP_BAD_HOST", `More than one Host header: ${JSON.stringify(host)}`);
    }
    return requestFraming(headers, this.version);
  }

  protected message(headers: Headers, body: Buffer): HttpRequest {
    return { method: this.method, target: this.target, version: this.version, headers, body };
  }
}

function bodyTooLarge(size: number, limits: Limits): HttpError {
  return new HttpError(
    "HTTP_BODY_TOO_LARGE",
    `A body of ${size} bytes is larger than the ${limits.maxBodyBytes} accepted`,
  );
}
