/**
 * The grammar of the lines of a message, one line at a time (RFC 9112 §2-§5, §7.1.1, RFC 9110
 * §5.5-§5.6): the characters a method, a target, a field name or value may hold, the version, a
 * field line, a chunk-size line. Each function gets one line, without its CRLF, and either returns
 * its parts or throws the HttpError that names what is wrong with it.
 */
import { todo } from "#shared/todo.ts";

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

/**
 * field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). Returns the name, lowercased,
 * and the value without the whitespace around it. `line` is one line without its CRLF.
 */
export function parseFieldLine(line: Buffer): [name: string, value: string] {
  // TODO: Lines are bytes: every check below is on bytes (decode as latin1, one character each).
  // TODO: RFC 9112 §5.2: a line that starts with SP or HTAB is obsolete line folding; a server
  // MUST reject it with 400 (HTTP_OBS_FOLD).
  // TODO: RFC 9112 §5.1: the name is a token (RFC 9110 §5.6.2) up to the first colon, and "no
  // whitespace is allowed between the field name and colon". No colon, or a name that is not a
  // token: HTTP_BAD_HEADER.
  // TODO: RFC 9112 §5.1: the value loses its leading and trailing OWS (SP, HTAB); RFC 9110 §5.5:
  // it may not hold CR, LF or NUL (HTTP_BAD_HEADER).
  // TODO: RFC 9110 §5.1: field names are case-insensitive: return the name lowercased.
  return todo("lesson-03-http", "parseFieldLine()", "Step 1");
}

/**
 * HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive. `code` is the error
 * for a malformed version: it depends on whether the line was a request line or a status line.
 */
export function parseVersion(
  version: string,
  code: "HTTP_BAD_REQUEST_LINE" | "HTTP_BAD_STATUS_LINE",
): "HTTP/1.0" | "HTTP/1.1" {
  // TODO: RFC 9112 §2.3: exactly "HTTP/" DIGIT "." DIGIT; anything else throws `code`.
  // TODO: A major version other than 1 is not this protocol: HTTP_VERSION_NOT_SUPPORTED (505).
  // TODO: RFC 9110 §2.5: a higher minor version is processed as the highest minor version the
  // recipient implements: "HTTP/1.0" for minor 0, "HTTP/1.1" for any other.
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
 * Given: the grammar as a regular expression (the point of Step 4 is the chunked framing).
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

/**
 * chunk-size [ chunk-ext ] (RFC 9112 §7.1, §7.1.1): the size of the next chunk. `line` is the
 * chunk-size line without its CRLF.
 */
export function parseChunkSize(line: Buffer): number {
  // TODO: RFC 9112 §7.1: chunk-size = 1*HEXDIG (either case), then extensions, which are
  // checked and ignored (CHUNK_SIZE_LINE). No whitespace after the size unless an extension
  // follows. A malformed line: HTTP_BAD_CHUNK, naming it. The size is read as hexadecimal.
  return todo("lesson-03-http", "parseChunkSize()", "Step 4");
}
