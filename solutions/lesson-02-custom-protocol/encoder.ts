import { array, bulk, RespError, type RespValue } from "./resp.ts";

/**
 * RESP2 encoding. Every length written is a count of bytes: a bulk string's value is a Buffer by
 * the time it gets here (see `bulk()`), so `value.length` is its byte length. `"héllo".length` is
 * 5, but it is 6 bytes on the wire, and `$5` would cut it short.
 */

const CRLF = Buffer.from("\r\n");
const NULL_BULK_BYTES = Buffer.from("$-1\r\n");
const NULL_ARRAY_BYTES = Buffer.from("*-1\r\n");

export function encode(value: RespValue): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** A command as clients send it: an array of bulk strings, `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  return encode(array(args.map(bulk)));
}

function encodeInto(value: RespValue, parts: Buffer[]): void {
  switch (value.type) {
    case "simple":
      parts.push(Buffer.from(`+${line(value.value)}\r\n`));
      return;
    case "error":
      parts.push(Buffer.from(`-${line(value.message)}\r\n`));
      return;
    case "integer":
      parts.push(Buffer.from(`:${value.value}\r\n`));
      return;
    case "bulk":
      if (value.value === null) parts.push(NULL_BULK_BYTES);
      else parts.push(Buffer.from(`$${value.value.length}\r\n`), value.value, CRLF);
      return;
    case "array":
      if (value.value === null) {
        parts.push(NULL_ARRAY_BYTES);
        return;
      }
      parts.push(Buffer.from(`*${value.value.length}\r\n`));
      for (const item of value.value) encodeInto(item, parts);
      return;
  }
}

/** RESP2: a simple string "mustn't contain a CR (\r) or LF (\n) character". A bulk string can. */
function line(text: string): string {
  if (/[\r\n]/.test(text)) {
    throw new RespError(
      "RESP_INVALID_SIMPLE_STRING",
      `A simple string or error cannot contain CR or LF: ${JSON.stringify(text)}`,
    );
  }
  return text;
}
