import { array, bulk, RespError, type RespValue } from "./resp.ts";

/**
 * RESP2 encoding. Every length written is a count of bytes: a bulk string's value is a Buffer by
 * the time it gets here (see `bulk()`), so `value.length` is its byte length. `"héllo".length` is
 * 5, but it is 6 bytes on the wire, and `$5` would cut it short.
 */

const CR = 0x0d;
const LF = 0x0a;
const NULL_BULK_BYTES = Buffer.from("$-1\r\n");
const NULL_ARRAY_BYTES = Buffer.from("*-1\r\n");
/**
 * Canned replies: the simple strings a server sends most, encoded once. Every `SET` is answered
 * `+OK\r\n`; making those 5 bytes anew each time is work for nothing. (Node's HTTP server does the
 * same with its status lines.)
 */
const CANNED = new Map(["OK", "PONG"].map((text) => [text, Buffer.from(`+${text}\r\n`)]));

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
      parts.push(CANNED.get(value.value) ?? Buffer.from(`+${line(value.value)}\r\n`));
      return;
    case "error":
      parts.push(Buffer.from(`-${line(value.message)}\r\n`));
      return;
    case "integer":
      parts.push(Buffer.from(`:${value.value}\r\n`));
      return;
    case "bulk":
      if (value.value === null) parts.push(NULL_BULK_BYTES);
      else parts.push(bulkBytes(value.value));
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

/** `$<length>\r\n<bytes>\r\n` in one Buffer: one allocation, where three parts would need a join. */
function bulkBytes(bytes: Buffer): Buffer {
  const header = `$${bytes.length}\r\n`;
  const out = Buffer.allocUnsafe(header.length + bytes.length + 2);
  out.write(header, 0, "latin1");
  bytes.copy(out, header.length);
  out[out.length - 2] = CR;
  out[out.length - 1] = LF;
  return out;
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
