/**
 * The grammar of the lines of a message, one line at a time (RFC 9112 §2-§5, §7.1.1, RFC 9110
 * §5.5-§5.6): the characters a method, a target, a field name or value may hold, the version, a
 * field line, a chunk-size line. Each function gets one line, without its CRLF, and either returns
 * its parts or throws the HttpError that names what is wrong with it.
 */
import { HttpError } from "./errors.ts";

/**
 * Header fields by lowercased name; repeated lines are combined with ", " (RFC 9110 §5.3). The
 * record has no prototype: a field called `__proto__` or `constructor` is ordinary data, not a
 * property every object inherits.
 */
export type Headers = Record<string, string>;

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
