import { todo } from "#shared/todo.ts";
import type { RespValue } from "./resp.ts";

/**
 * RESP2 encoding. Every length written is a count of bytes: a bulk string's value is a Buffer by
 * the time it gets here (see `bulk()`), so `value.length` is its byte length. `"héllo".length` is
 * 5, but it is 6 bytes on the wire, and `$5` would cut it short.
 */

export function encode(value: RespValue): Buffer {
  // TODO: Collect the parts (Buffers) of the value, then concat them once.
  // TODO: simple: `+text\r\n`; error: `-message\r\n`. RESP2: a simple string "mustn't contain a
  //       CR (\r) or LF (\n) character": throw RespError("RESP_INVALID_SIMPLE_STRING", ...) if they do.
  // TODO: integer: `:1000\r\n`.
  // TODO: bulk: `$-1\r\n` when null, else `$<byte length>\r\n`, the bytes, `\r\n`.
  // TODO: array: `*-1\r\n` when null, else `*<count>\r\n` and then each item, encoded the same way.
  return todo("lesson-02-custom-protocol", "encode()", "Step 2");
}

/** A command as clients send it: an array of bulk strings, `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  // TODO: An array of bulk strings (`array()` and `bulk()` from resp.ts), encoded.
  return todo("lesson-02-custom-protocol", "encodeCommand()", "Step 2");
}
