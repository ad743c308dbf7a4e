import { todo } from "#shared/todo.ts";
import type { RespValue } from "./resp.ts";

/**
 * RESP2 encoding. Every length written is a count of bytes: a bulk string's value is a Buffer by
 * the time it gets here (see `bulk()`), so `value.length` is its byte length. `"héllo".length` is
 * 5, but it is 6 bytes on the wire, and `$5` would cut it short.
 */

export function encode(value: RespValue): Buffer {
  // TODO: Write each value as the RESP2 spec does: `+text\r\n`, `-message\r\n`, `:1000\r\n`,
  //       `$<length>\r\n<bytes>\r\n` (`$-1\r\n` for the null bulk string), and
  //       `*<count>\r\n` followed by each item (`*-1\r\n` for the null array), nested arrays
  //       included. Every length counts bytes, not characters.
  // TODO: RESP2: a simple string "mustn't contain a CR (\r) or LF (\n) character", and an error
  //       neither: RespError with code RESP_INVALID_SIMPLE_STRING.
  return todo("lesson-02-custom-protocol", "encode()", "Step 2");
}

/** A command as clients send it: an array of bulk strings, `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  // TODO: An array of bulk strings, one per word; a string word counts as its UTF-8 bytes.
  return todo("lesson-02-custom-protocol", "encodeCommand()", "Step 2");
}
