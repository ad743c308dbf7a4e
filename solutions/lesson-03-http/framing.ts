/**
 * Framing: where the body of a message ends (RFC 9112 §6). The parser asks once the head is
 * complete, and the answer is one of three: a length, chunks, or the close of the connection.
 */
import { HttpError } from "./errors.ts";
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
  // The first "chunked" must be the last coding: then it is there, last, and once.
  if (codings.indexOf("chunked") !== codings.length - 1) {
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
