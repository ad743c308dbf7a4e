import { todo } from "#shared/todo.ts";
import { RespError, type RespValue } from "./resp.ts";

/**
 * An incremental RESP2 parser. Give it each chunk as it arrives; it yields every value that is
 * now complete and keeps the rest for the next chunk:
 *
 *   feed("*2\r\n$3\r\nGE")   yields nothing (an array of 2 is open, its first bulk is half read)
 *   feed("T\r\n$1\r\nk\r\n") yields ["GET", "k"] as an array of two bulk strings
 *
 * A syntax error is thrown (a RespError) from the iteration, after every value before it was
 * yielded. The parser is then unusable: the bytes after a framing error cannot be trusted, so the
 * connection has to close.
 */

export interface ParserOptions {
  /**
   * "replies" (the default) reads any RESP2 value, as a client reads a server's replies.
   * "commands" reads what a Redis server accepts from clients: an array of bulk strings, or an
   * inline command (a plain line such as `PING\r\n`, typed by hand in nc or telnet).
   */
  mode?: "replies" | "commands";
  /** Largest `$` length accepted. Redis's proto-max-bulk-len defaults to 512 MiB. */
  maxBulkLength?: number;
  /** Largest `*` count accepted. */
  maxArrayLength?: number;
  /** Longest line (header, simple string, inline command). Redis's PROTO_INLINE_MAX_SIZE: 64 KiB. */
  maxLineLength?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const PLUS = 0x2b; // +
const MINUS = 0x2d; // -
const COLON = 0x3a; // :
const DOLLAR = 0x24; // $
const STAR = 0x2a; // *
const SPACE = 0x20;
const TAB = 0x09;

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
type Step = RespValue | typeof NEED_MORE | typeof CONTINUE;

/** An array whose items are still arriving. */
interface OpenArray {
  readonly length: number;
  readonly items: RespValue[];
}

const EMPTY = Buffer.alloc(0);

export class RespParser {
  readonly #commands: boolean;
  readonly #maxBulkLength: number;
  readonly #maxArrayLength: number;
  readonly #maxLineLength: number;

  #state: State = "TYPE";
  /** Bytes not yet parsed are `#buffer` from `#offset`, then the `#held` chunks. */
  #buffer: Buffer = EMPTY;
  #offset = 0;
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** The type byte whose header line is being read. */
  #type = 0;
  /** The length of the bulk string being read. */
  #bulkLength = 0;
  /** Arrays still waiting for items, innermost last. */
  readonly #open: OpenArray[] = [];

  constructor(options: ParserOptions = {}) {
    this.#commands = options.mode === "commands";
    this.#maxBulkLength = options.maxBulkLength ?? 512 * 1024 * 1024;
    this.#maxArrayLength = options.maxArrayLength ?? 1024 * 1024;
    this.#maxLineLength = options.maxLineLength ?? 64 * 1024;
  }

  /** Takes one chunk, as a `data` event gives it, and yields the values it completes. */
  feed(chunk: Buffer): Generator<RespValue, void, undefined> {
    // TODO: Keep the chunk now (in #held, counted in #heldBytes), not when the caller starts
    //       iterating, so no byte is ever lost. Then return the generator #parse(chunk).
    return todo("lesson-02-custom-protocol", "RespParser.feed()", "Step 2");
  }

  *#parse(chunk: Buffer): Generator<RespValue, void, undefined> {
    // TODO: Return at once if #isStillWaiting(chunk); otherwise #join() the held chunks.
    // TODO: Loop: take one #step(). NEED_MORE: return (the rest waits for the next chunk).
    //       CONTINUE: go on. A value: #finish() it, and yield it if it completed a top-level value.
    yield todo("lesson-02-custom-protocol", "RespParser.#parse()", "Step 2");
  }

  /** One move of the state machine. */
  #step(): Step {
    // TODO: Call the reader for the current state: TYPE, HEADER, BULK_DATA or INLINE.
    return todo("lesson-02-custom-protocol", "RespParser.#step()", "Step 2");
  }

  /**
   * Joining chunks costs a copy, so it waits until the awaited bytes can all be there: a large
   * bulk string arriving in many chunks, or a long line arriving byte by byte, is copied once
   * rather than once per chunk.
   */
  #isStillWaiting(chunk: Buffer): boolean {
    // TODO: Count the bytes available (the rest of #buffer from #offset, plus #heldBytes).
    // TODO: BULK_DATA waits for the data and its CRLF (#bulkLength + 2 bytes).
    // TODO: HEADER and INLINE wait while the new chunk has no LF (the line had none before
    //       either), throwing #lineTooLong() once more than #maxLineLength + 1 bytes are waiting.
    // TODO: TYPE never waits here.
    return todo("lesson-02-custom-protocol", "RespParser.#isStillWaiting()", "Step 2");
  }

  #join(): void {
    // TODO: #buffer becomes the unread rest of #buffer followed by the held chunks (no copy when
    //       there is no rest and a single chunk); reset #offset, #held and #heldBytes.
    return todo("lesson-02-custom-protocol", "RespParser.#join()", "Step 2");
  }

  /** A value is complete: it is either a top-level value or the next item of an open array. */
  #finish(value: RespValue): RespValue | undefined {
    // TODO: Back to the TYPE state.
    // TODO: No open array: the value is complete; return it.
    // TODO: Otherwise push it onto the innermost open array. If that array now has all its
    //       items, pop it: the array is complete, and may complete its parent (loop).
    return todo("lesson-02-custom-protocol", "RespParser.#finish()", "Step 2");
  }

  #readType(): Step {
    // TODO: NEED_MORE if there is no byte at #offset.
    // TODO: In "commands" mode, Redis reads a request starting with `*` as an array of bulk
    //       strings, anything else as an inline command (processInputBuffer in networking.c):
    //       at the top level, a byte other than `*` moves to INLINE; inside an array, a byte
    //       other than `$` throws RESP_EXPECTED_BULK "Protocol error: expected '$', got '+'".
    // TODO: In "replies" mode, a byte other than `+ - : $ *` throws RESP_UNKNOWN_TYPE
    //       "Protocol error: unknown type byte 0x21" (two hex digits).
    // TODO: Remember the type byte, consume it, move to HEADER.
    return todo("lesson-02-custom-protocol", "RespParser.#readType()", "Step 2");
  }

  #readHeader(): Step {
    // TODO: Read the line (#readLine); NEED_MORE if it is not all here.
    // TODO: `+` -> simple(text), `-` -> error(text), `:` -> integer(parseInteger(line)), or
    //       RESP_INVALID_INTEGER "Protocol error: invalid integer <quote(line)>".
    // TODO: `$` -> #startBulk(parseInteger(line)); `*` -> #startArray(parseInteger(line)).
    return todo("lesson-02-custom-protocol", "RespParser.#readHeader()", "Step 2");
  }

  #startBulk(length: bigint | undefined): Step {
    // TODO: `$-1` is RESP2's null bulk string -> NULL_BULK (not in "commands" mode: a
    //       command's words exist).
    // TODO: Not a number, below 0, or above #maxBulkLength: RESP_INVALID_BULK_LENGTH
    //       "Protocol error: invalid bulk length".
    // TODO: Remember the length and move to BULK_DATA.
    return todo("lesson-02-custom-protocol", "RespParser.#startBulk()", "Step 2");
  }

  #startArray(count: bigint | undefined): Step {
    // TODO: Not a number, or above #maxArrayLength: RESP_INVALID_ARRAY_LENGTH
    //       "Protocol error: invalid multibulk length".
    // TODO: In "commands" mode, Redis skips `*0\r\n`, `*-1\r\n` (any count below 1): no
    //       command, no reply.
    // TODO: Otherwise a count below -1 is RESP_INVALID_ARRAY_LENGTH too.
    // TODO: -1 -> NULL_ARRAY; 0 -> array([]); otherwise open an array and go back to TYPE for
    //       its first item.
    return todo("lesson-02-custom-protocol", "RespParser.#startArray()", "Step 2");
  }

  #readBulkData(): Step {
    // TODO: Check the count first: NEED_MORE unless the data and its CRLF are all here.
    // TODO: No CRLF after the data: RESP_EXPECTED_CRLF
    //       "Protocol error: expected '\\r\\n' after <n> bytes of bulk data".
    // TODO: A copy of the data, so that a stored value does not keep the whole network chunk
    //       alive; consume it and its CRLF; return it as a bulk string.
    return todo("lesson-02-custom-protocol", "RespParser.#readBulkData()", "Step 2");
  }

  #readInline(): Step {
    // TODO: Find the LF; without one, throw #lineTooLong() past #maxLineLength + 1 bytes, else
    //       NEED_MORE.
    // TODO: Inline commands end in LF, with or without a CR before it (people type them).
    // TODO: splitWords(); an empty line is skipped, as Redis does (back to TYPE, CONTINUE).
    // TODO: Return an array of bulk strings, each word a copy, like bulk data.
    return todo("lesson-02-custom-protocol", "RespParser.#readInline()", "Step 2");
  }

  /** The line at the read position without its CRLF, or NEED_MORE. */
  #readLine(): Buffer | typeof NEED_MORE {
    // TODO: Find the LF from #offset; without one, throw #lineTooLong() past
    //       #maxLineLength + 1 bytes, else NEED_MORE.
    // TODO: RESP2: every line ends in CRLF. A bare LF: RESP_EXPECTED_CRLF.
    // TODO: Too long: #lineTooLong(). Otherwise consume the line and its CRLF; return the line.
    return todo("lesson-02-custom-protocol", "RespParser.#readLine()", "Step 2");
  }

  // Given: the wording of each "line too long" error, as Redis words it.
  #lineTooLong(): RespError {
    // Worded as Redis words each case.
    const what =
      this.#state === "INLINE"
        ? "too big inline request"
        : this.#type === STAR
          ? "too big mbulk count string"
          : this.#type === DOLLAR
            ? "too big bulk count string"
            : `line longer than ${this.#maxLineLength} bytes`;
    return new RespError("RESP_LINE_TOO_LONG", `Protocol error: ${what}`);
  }
}

// Given: small helpers for the readers above.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A signed 64-bit decimal such as `-42`, or undefined. No sign `+`, no spaces, no leading zeros:
 * numbers as Redis's string2ll() reads them. For `:` integers this is stricter than the spec's
 * `:[<+|->]<value>\r\n`, which allows a `+`; Redis never sends one.
 */
function parseInteger(line: Buffer): bigint | undefined {
  const text = line.toString("latin1");
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** The words of an inline command, split on spaces and tabs. */
function splitWords(line: Buffer): Buffer[] {
  const words: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line[i] === SPACE || line[i] === TAB) {
      if (i > start) words.push(line.subarray(start, i));
      start = i + 1;
    }
  }
  return words;
}

/** A short piece of input for an error message, as text. */
function quote(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 40).toString("latin1"));
}
