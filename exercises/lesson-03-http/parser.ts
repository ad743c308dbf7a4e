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
import { todo } from "#shared/todo.ts";

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

// TODO: Name the two bytes of a line ending: const CR = 0x0d; const LF = 0x0a;

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
  // Names from the wire go into a record with no prototype: Object.create(null), never {}.
  private headers: Headers = Object.create(null) as Headers;
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
   *
   * Given: it remembers the first error. The work is in consume().
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
   *
   * Given, with feed(): consume() pushes each finished message into `done` as it goes.
   */
  get completedBeforeError(): readonly Message[] {
    return this.beforeFailure;
  }

  /**
   * Where the bytes fed so far stop: "between" two messages (no byte of the next one yet, an
   * ignored empty line included), in a "head" (part of its start line or field lines), or in a
   * "body". A persistent server's timers read it (lesson 04): the clock for a head runs while it
   * says "head".
   *
   * Given, like completedBeforeError.
   */
  get phase(): "between" | "head" | "body" {
    if (this.state === "start-line") return this.lineSize > 0 ? "head" : "between";
    return this.state === "field-lines" ? "head" : "body";
  }

  /** The peer closed the connection: completes a body delimited by the close, if one is open. */
  end(): Message[] {
    // TODO: In state "body-until-close", the close ends the body: return [this.finish()].
    // TODO: RFC 9112 §8: a message cut off before its framing says it ends is incomplete. If
    // the state is not "start-line", or part of a line is waiting, throw HTTP_INCOMPLETE_MESSAGE.
    // TODO: Otherwise the connection closed between messages: return [].
    return todo("lesson-03-http", "MessageParser.end()", "Step 6");
  }

  /** The state machine: one loop, one case per state, each case taking the bytes it needs. */
  private consume(chunk: Buffer, done: Message[]): Message[] {
    // The stub's cases do not move `at` yet; yours will.
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case "start-line":
          // TODO: Take a head line (takeHeadLine); undefined means need more bytes: return done.
          // TODO: RFC 9112 §2.2: skip an empty line before the request line.
          // TODO: Hand the line, decoded as latin1, to this.startLine(); go to "field-lines".
          return todo("lesson-03-http", "MessageParser.consume() in start-line", "Step 1");

        case "field-lines":
          // TODO: Take a head line. A non-empty one is a field: parseFieldLine, then addField.
          // TODO: The empty line ends the head. Ask this.framing(this.headers) where the body
          // ends (Step 1: a request without a body is finished at once: done.push(finish())).
          // TODO (Step 2): "chunked" goes to "chunk-size"; "until-close" to "body-until-close"
          // with remaining = Infinity; a length over maxBodyBytes is HTTP_BODY_TOO_LARGE (413); a
          // positive length goes to "body-by-length".
          return todo("lesson-03-http", "MessageParser.consume() in field-lines", "Step 1");

        case "body-by-length":
          // TODO: Take body bytes (takeBody); when none remain, the message is done.
          return todo("lesson-03-http", "MessageParser.consume() in body-by-length", "Step 2");

        case "chunk-size":
          // TODO: RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
          // TODO: Take a line capped at MAX_CHUNK_LINE_BYTES (too long: HTTP_BAD_CHUNK).
          // TODO: parseChunkSize. Size 0 is the last-chunk: reset headBytes, go to "trailers".
          // TODO: Check the body cap (HTTP_BODY_TOO_LARGE), then go to "chunk-data" for
          // `size` bytes.
          return todo("lesson-03-http", "MessageParser.consume() in chunk-size", "Step 2");

        case "chunk-data":
          // TODO: Take body bytes; when the chunk is complete, go to "chunk-data-end".
          return todo("lesson-03-http", "MessageParser.consume() in chunk-data", "Step 2");

        case "chunk-data-end":
          // TODO: The CRLF after chunk-data is an empty line: take a line of at most 0 bytes
          // (anything longer: HTTP_BAD_CHUNK, the data was longer than its size); go to
          // "chunk-size".
          return todo("lesson-03-http", "MessageParser.consume() in chunk-data-end", "Step 2");

        case "trailers":
          // TODO: Take head lines. RFC 9112 §7.1.2: check each trailer field with
          // parseFieldLine, then discard it. The empty line finishes the message.
          return todo("lesson-03-http", "MessageParser.consume() in trailers", "Step 2");

        case "body-until-close":
          // TODO: Take every byte as body (remaining is Infinity); check the body cap.
          // end() finishes this message when the peer closes.
          return todo("lesson-03-http", "MessageParser.consume() in body-until-close", "Step 6");
      }
    }
    return done;
  }

  /** A line of the head or trailer section, counted against the header cap. */
  private takeHeadLine(chunk: Buffer, from: number): { bytes: Buffer; next: number } | undefined {
    // TODO: The budget is maxHeaderBytes - headBytes; a line and its CRLF must fit in it.
    // TODO: takeLine with limit budget - 2; too long is HTTP_HEADERS_TOO_LARGE (431).
    // TODO: Count a line that was taken, CRLF included, in headBytes.
    return todo("lesson-03-http", "MessageParser.takeHeadLine()", "Step 1");
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
    // TODO: Find the next LF (0x0a) in the chunk, from `from`; it may not be there (-1).
    // TODO: If the bytes waiting plus the new ones pass limit + 1 (the CR), throw tooLong().
    // TODO: No LF yet: keep the rest of the chunk in lineParts, return undefined.
    // TODO: LF found: join the parts and the new bytes into one line; empty lineParts.
    // TODO: RFC 9112 §2.2: the line must end in CR; a bare LF is HTTP_BARE_LF.
    // TODO: Return the line without its CR, and the index after the LF.
    return todo("lesson-03-http", "MessageParser.takeLine()", "Step 1");
  }

  /** Up to `remaining` body bytes from the chunk; returns where the unread bytes start. */
  private takeBody(chunk: Buffer, from: number): number {
    // TODO: Take min(remaining, bytes left in the chunk); keep them in bodyParts (no copy).
    // TODO: Update bodySize and remaining; return the index after the bytes taken.
    return todo("lesson-03-http", "MessageParser.takeBody()", "Step 2");
  }

  private addField(name: string, value: string): void {
    // TODO: RFC 9110 §5.3: repeated field lines may be combined "by appending each subsequent
    // field line value to the initial field line value in order, separated by a comma".
    return todo("lesson-03-http", "MessageParser.addField()", "Step 1");
  }

  private finish(): Message {
    // TODO: Join the body parts once; build this.message(headers, body).
    // TODO: Reset every per-message field, back to "start-line", for the next message.
    return todo("lesson-03-http", "MessageParser.finish()", "Step 1");
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
    // TODO: RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    // TODO: Exactly three parts split on single spaces; the method a TOKEN, the target a
    // TARGET; otherwise HTTP_BAD_REQUEST_LINE. Keep them, with parseVersion(version).
    return todo("lesson-03-http", "RequestParser.startLine()", "Step 1");
  }

  protected framing(headers: Headers): Framing {
    // TODO: RFC 9112 §3.2: an HTTP/1.1 request needs a Host header, and only one (two lines
    // were combined into one value with a comma): else HTTP_BAD_HOST.
    // TODO: Then the request framing rules: return requestFraming(headers, this.version).
    return todo("lesson-03-http", "RequestParser.framing()", "Step 1");
  }

  protected message(headers: Headers, body: Buffer): HttpRequest {
    // TODO: The request: method, target, version, headers and body.
    return todo("lesson-03-http", "RequestParser.message()", "Step 1");
  }
}

/**
 * RFC 9112 §6.3, the rules for a request, in their order of precedence. The ambiguous cases are
 * refused, because another server on the path could read them differently: that disagreement is
 * what request smuggling exploits.
 */
export function requestFraming(headers: Headers, version: string): Framing {
  // TODO: With Transfer-Encoding: Content-Length too is HTTP_CONFLICTING_FRAMING (§6.1);
  // HTTP/1.0 is HTTP_BAD_TRANSFER_ENCODING (§6.1); else return transferFraming(...).
  // TODO: With Content-Length: a body of parseContentLength(...) bytes.
  // TODO: §6.3 rule 7: with neither, the body length is zero.
  // (Step 1 needs only the last rule; Step 2 adds the others.)
  return todo("lesson-03-http", "requestFraming()", "Step 1");
}

/** Transfer-Encoding: only `chunked` is understood (RFC 9112 §6.1, §7.1). */
export function transferFraming(transferEncoding: string): Framing {
  // TODO: Split the value on commas into lowercased, trimmed codings.
  // TODO: §6.3 rule 4: chunked must be the final coding, and (§6.1: "A sender MUST NOT apply
  // the chunked transfer coding more than once") appear once: else HTTP_BAD_TRANSFER_ENCODING
  // (400).
  // TODO: §6.1: any other coding before it is not understood:
  // HTTP_UNSUPPORTED_TRANSFER_CODING (501).
  return todo("lesson-03-http", "transferFraming()", "Step 2");
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6). A repeated header arrives combined as "42, 42"; the
 * same value repeated may be taken as one, different values may not (RFC 9112 §6.3 rule 5).
 */
export function parseContentLength(value: string): number {
  // TODO: Split on commas and trim; all parts must be the same string of 1 to 15 digits,
  // else HTTP_BAD_CONTENT_LENGTH, naming the value.
  return todo("lesson-03-http", "parseContentLength()", "Step 2");
}

/** tchar, RFC 9110 §5.6.2: the characters of a method or a field name. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A request-target is visible ASCII, no spaces (RFC 9112 §3.2, RFC 3986). */
export const TARGET = /^[\x21-\x7e]+$/;
/** field-value: visible ASCII, obs-text, SP and HTAB; no CR, LF or NUL (RFC 9110 §5.5). */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
export function parseFieldLine(line: Buffer): [name: string, value: string] {
  // TODO: Decode the line as latin1: one character per byte.
  // TODO: RFC 9112 §5.2: a line that starts with SP or HTAB is obs-fold: HTTP_OBS_FOLD.
  // TODO: Split at the first colon (none: HTTP_BAD_HEADER). The name must be a TOKEN; this
  // also refuses whitespace before the colon (RFC 9112 §5.1).
  // TODO: Trim SP and HTAB around the value; it must match FIELD_VALUE.
  // TODO: Field names are case-insensitive (RFC 9110 §5.1): return the name lowercased.
  return todo("lesson-03-http", "parseFieldLine()", "Step 1");
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). */
export function parseVersion(
  version: string,
  code: "HTTP_BAD_REQUEST_LINE" | "HTTP_BAD_STATUS_LINE",
): "HTTP/1.0" | "HTTP/1.1" {
  // TODO: Match "HTTP/" DIGIT "." DIGIT, else throw an HttpError with `code`.
  // TODO: A major version other than 1 is HTTP_VERSION_NOT_SUPPORTED (505).
  // TODO: RFC 9110 §2.5: minor 0 is HTTP/1.0; any higher minor is handled as HTTP/1.1.
  return todo("lesson-03-http", "parseVersion()", "Step 1");
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
 * Given: the grammar as a regular expression (the point of the step is the chunked framing).
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
  // TODO: Decode the line as latin1: one character per byte.
  // TODO: No whitespace after the size unless an extension follows: "a \r\n" is not a
  // chunk-size line. Match CHUNK_SIZE_LINE; no match is HTTP_BAD_CHUNK, naming the line.
  // TODO: Return the size (the first group) parsed as hex.
  return todo("lesson-03-http", "parseChunkSize()", "Step 2");
}
