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
import type { Framing } from "./framing.ts";
import type { Headers } from "./grammar.ts";

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

/**
 * The machine shared by requests and responses: one loop, one case per state, each case taking
 * the bytes it needs or saying "need more bytes". RequestParser and the client's ResponseParser
 * give it the start line and the framing rules. The rest of its fields are yours to design.
 */
export abstract class MessageParser<Message> {
  private state: State = "start-line";
  private readonly limits: Limits;

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
    // TODO: A TCP chunk is not a message: a line, a head or a body may end in any later chunk,
    // and one chunk may hold several messages. Keep what is incomplete. (Advice: search only new
    // bytes, so a long line fed one byte at a time costs linear time, not quadratic.) Decode
    // lines as latin1, one character per byte, never UTF-8.
    // TODO: RFC 9112 §2.2: every line ends in CRLF; this parser refuses a bare LF
    // (HTTP_BARE_LF), as Node's does.
    // TODO: RFC 9112 §2.2: in "start-line", a server "SHOULD ignore at least one empty line
    // (CRLF) received prior to the request-line".
    // TODO: Every line of the head counts against limits.maxHeaderBytes, CRLFs included
    // (HTTP_HEADERS_TOO_LARGE, 431), as soon as the head passes it, even inside a line whose LF
    // has not arrived. The empty lines skipped before a request line count too.
    // TODO: RFC 9110 §5.3: a repeated field is combined into one value, in order, separated by
    // ", ". Names from the wire are data: keep them in a Map or an Object.create(null) record.
    // TODO: The empty line ends the head: framing() says where the body ends. (Step 1: no body.
    // Step 4: a length over limits.maxBodyBytes is HTTP_BODY_TOO_LARGE (413) at once, chunks in
    // the states above; the CRLF after chunk data is a CRLF, nothing else; trailer fields
    // checked as field lines, under a header cap of their own counted from zero, then
    // discarded, RFC 9112 §7.1.2.)
    // TODO: After an HttpError, every later feed() throws the same error; the messages this
    // call completed before it are kept for completedBeforeError.
    return todo("lesson-03-http", "MessageParser.feed()", "Step 1");
  }

  /**
   * The messages that the feed() call which threw had completed before its malformed byte. A
   * request written just before a bad one, in the same chunk, is whole: a server answers it, then
   * the error, as it would have had the two arrived in separate chunks.
   */
  get completedBeforeError(): readonly Message[] {
    return todo("lesson-03-http", "MessageParser.completedBeforeError", "Step 1");
  }

  /**
   * Where the bytes fed so far stop: "between" two messages (no byte of the next one yet, an
   * ignored empty line included), in a "head" (part of its start line or field lines), or in a
   * "body" (from the end of the head to the end of the trailer section). A persistent server's timers read it (lesson 04): the clock for a head runs while it
   * says "head".
   */
  get phase(): "between" | "head" | "body" {
    return todo("lesson-03-http", "MessageParser.phase", "Step 4");
  }

  /** The peer closed the connection: completes a body delimited by the close, if one is open. */
  end(): Message[] {
    // TODO: RFC 9112 §6.3 rule 8: in "body-until-close", the close ends the body.
    // TODO: RFC 9112 §8: a message cut off before its framing says it ends is incomplete
    // (HTTP_INCOMPLETE_MESSAGE): any state but "start-line", or part of a line waiting.
    // TODO: A close between messages ends nothing.
    return todo("lesson-03-http", "MessageParser.end()", "Step 7");
  }
}

/** The server's parser: request lines, and the request framing rules. */
export class RequestParser extends MessageParser<HttpRequest> {
  constructor(limits: Limits = { maxHeaderBytes: MAX_HEADER_BYTES, maxBodyBytes: MAX_BODY_BYTES }) {
    super(limits);
  }

  protected startLine(line: string): void {
    // TODO: RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces.
    // The method is a token (TOKEN), the target visible ASCII (TARGET): else
    // HTTP_BAD_REQUEST_LINE. The version as parseVersion() reads it.
    return todo("lesson-03-http", "RequestParser.startLine()", "Step 1");
  }

  protected framing(headers: Headers): Framing {
    // TODO: RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    // HTTP/1.1 request message that lacks a Host header field and to any request message that
    // contains more than one Host header field line" (HTTP_BAD_HOST).
    // TODO: Then the request framing rules of requestFraming().
    return todo("lesson-03-http", "RequestParser.framing()", "Step 1");
  }

  protected message(headers: Headers, body: Buffer): HttpRequest {
    return todo("lesson-03-http", "RequestParser.message()", "Step 1");
  }
}
