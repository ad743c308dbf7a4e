/**
 * Framing: where the body of a message ends (RFC 9112 §6). The parser asks once the head is
 * complete, and the answer is one of three: a length, chunks, or the close of the connection.
 */
import { todo } from "#shared/todo.ts";
import type { Headers } from "./grammar.ts";

/** How the body after the head is delimited (RFC 9112 §6.3). */
export type Framing =
  { kind: "length"; length: number } | { kind: "chunked" } | { kind: "until-close" };

/**
 * RFC 9112 §6.3, the rules for a request, in their order of precedence. The ambiguous cases are
 * refused, because another server on the path could read them differently: that disagreement is
 * what request smuggling exploits.
 */
export function requestFraming(headers: Headers, version: string): Framing {
  // TODO (Step 1): §6.3 rule 7: "If this is a request message and none of the above are true,
  // then the message body length is zero (no message body is present)." Step 1 needs only this
  // rule: a request without a framing header has no body.
  // TODO (Step 4): Transfer-Encoding with Content-Length: §6.1 lets a server reject the request,
  // the safe choice (HTTP_CONFLICTING_FRAMING).
  // TODO (Step 4): §6.1: Transfer-Encoding in an HTTP/1.0 request means the framing is faulty
  // (HTTP_BAD_TRANSFER_ENCODING). Otherwise Transfer-Encoding decides (transferFraming()).
  // TODO (Step 4): §6.3 rules 5 and 6: a valid Content-Length is the body's length.
  return todo("lesson-03-http", "requestFraming()", "Step 1");
}

/** Transfer-Encoding: only `chunked` is understood (RFC 9112 §6.1, §7.1). */
export function transferFraming(transferEncoding: string): Framing {
  // TODO: The value is a comma-separated list of codings; coding names are case-insensitive
  // (RFC 9112 §7).
  // TODO: §6.3 rule 4: if chunked "is not the final encoding, the message body length cannot be
  // determined reliably; the server MUST respond with the 400 (Bad Request) status code", and
  // §6.1: "A sender MUST NOT apply the chunked transfer coding more than once"
  // (HTTP_BAD_TRANSFER_ENCODING).
  // TODO: §6.1: a coding the server does not understand before chunked (gzip, chunked) "SHOULD"
  // get 501 (HTTP_UNSUPPORTED_TRANSFER_CODING).
  return todo("lesson-03-http", "transferFraming()", "Step 4");
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6). A repeated header arrives combined as "42, 42"; the
 * same value repeated may be taken as one, different values may not (RFC 9112 §6.3 rule 5).
 */
export function parseContentLength(value: string): number {
  // TODO: RFC 9112 §6.3 rule 5: a list of one value repeated is that value; different values,
  // or anything that is not digits (a sign, a decimal point, hex, a space inside), is
  // HTTP_BAD_CONTENT_LENGTH, naming the value. At most 15 digits, so the number stays exact:
  // more is HTTP_BAD_CONTENT_LENGTH too, never a huge length (and a 413).
  return todo("lesson-03-http", "parseContentLength()", "Step 4");
}
