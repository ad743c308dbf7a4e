import { todo } from "#shared/todo.ts";
import type { RespValue } from "./resp.ts";

/**
 * An incremental RESP2 parser. Give it each chunk as it arrives; it yields every value that is
 * now complete and keeps the rest for the next chunk:
 *
 *   feed("*2\r\n$3\r\nGE")   yields nothing (an array of 2 is open, its first bulk is half read)
 *   feed("T\r\n$1\r\nk\r\n") yields ["GET", "k"] as an array of two bulk strings
 *
 * A syntax error is thrown (a RespError) from the iteration, after every value before it was
 * yielded. The parser is then done: the bytes after a framing error cannot be trusted, so every
 * later feed() throws the same error again, and the connection has to close.
 */

export interface ParserOptions {
  /**
   * "replies" (the default) reads any RESP2 value, as a client reads a server's replies.
   * "commands" reads what a Redis server accepts from clients: an array of bulk strings, or an
   * inline command (a plain line such as `PING\r\n`, typed by hand in a raw client).
   */
  mode?: "replies" | "commands";
  /** Largest `$` length accepted. Redis's proto-max-bulk-len defaults to 512 MiB. */
  maxBulkLength?: number;
  /** Largest `*` count accepted. Defaults to 1024 * 1024. */
  maxArrayLength?: number;
  /** Longest line (header, simple string, inline command). Redis's PROTO_INLINE_MAX_SIZE: 64 KiB. */
  maxLineLength?: number;
}

// The README's state machine, to build on (or to design your own).

/** The parser's states. Each names what the bytes at the read position are expected to be. */
type State =
  /** The type byte that starts every value: `+ - : $ *`. */
  | "TYPE"
  /** The rest of the first line: the text of `+`/`-`, the number of `:`, the length of `$`/`*`. */
  | "HEADER"
  /** The bytes of a bulk string and the CRLF after them. */
  | "BULK_DATA"
  /** A whole inline command line ("commands" mode only). */
  | "INLINE";

/** "Not enough bytes yet": its own outcome, never confused with the RESP null. */
const NEED_MORE = Symbol("need more bytes");
/** The state changed, and no value is complete yet. */
const CONTINUE = Symbol("continue");
/** What one move of the state machine returns. */
type Step = RespValue | typeof NEED_MORE | typeof CONTINUE;

/** An array whose items are still arriving. */
interface OpenArray {
  readonly length: number;
  readonly items: RespValue[];
}

export class RespParser {
  constructor(options: ParserOptions = {}) {
    // TODO: Keep the options; their defaults are in ParserOptions' comments.
    void options;
  }

  /** Takes one chunk, as a `data` event gives it, and yields the values it completes. */
  feed(chunk: Buffer): Generator<RespValue, void, undefined> {
    // TODO: RESP2 (the protocol spec's "RESP protocol description"): every value starts with a
    //       type byte, `+` simple string, `-` error, `:` integer, `$` bulk string, `*` array;
    //       its first line ends in CRLF. `$n` is followed by n bytes and a CRLF (`$-1`: the null
    //       bulk string); `*n` by n values of any type (`*-1`: the null array). Other type bytes
    //       are RESP_UNKNOWN_TYPE.
    // TODO: A chunk may end anywhere: keep what is not complete for the next chunk, and never
    //       parse the same bytes twice. Check that bytes are there before reading them.
    // TODO: Refuse, with the codes and Redis's wording from the README's table, a bad length or
    //       count, one above its cap (checked on the header line, before any data), a line
    //       longer than maxLineLength, a bare LF, bulk data not followed by CRLF, an integer
    //       that is not a signed 64-bit decimal.
    // TODO: Throw from the iteration, after yielding the values before the error; once failed,
    //       every later feed() throws the same error.
    // TODO: "commands" mode (Redis's processInputBuffer in networking.c): a request starting
    //       with `*` is an array of non-null bulk strings (any other item type:
    //       RESP_EXPECTED_BULK); `*0` and any count below 1 are skipped; anything else is an
    //       inline command: a line ended by LF (with or without CR), split into words as Redis
    //       splits it (sdssplitargs: spaces, "double quotes" with \n \r \t \b \a \xHH escapes,
    //       'single quotes' with \'), an empty line skipped.
    void chunk;
    return todo("lesson-02-custom-protocol", "RespParser.feed()", "Step 2");
  }
}
