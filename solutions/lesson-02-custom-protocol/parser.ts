import {
  array,
  bulk,
  error,
  integer,
  NULL_ARRAY,
  NULL_BULK,
  RespError,
  simple,
  type RespValue,
} from "./resp.ts";

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
const ZERO = 0x30; // 0
const TYPE_BYTES = [PLUS, MINUS, COLON, DOLLAR, STAR];

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
  /** The error that ended parsing, thrown again by every later feed(). */
  #failure: RespError | undefined;

  constructor(options: ParserOptions = {}) {
    this.#commands = options.mode === "commands";
    this.#maxBulkLength = options.maxBulkLength ?? 512 * 1024 * 1024;
    this.#maxArrayLength = options.maxArrayLength ?? 1024 * 1024;
    this.#maxLineLength = options.maxLineLength ?? 64 * 1024;
  }

  /** Takes one chunk, as a `data` event gives it, and yields the values it completes. */
  feed(chunk: Buffer): Generator<RespValue, void, undefined> {
    // The chunk is kept now, not when the caller starts iterating, so no byte is ever lost.
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    return this.#parse(chunk);
  }

  *#parse(chunk: Buffer): Generator<RespValue, void, undefined> {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      if (this.#isStillWaiting(chunk)) return;
      this.#join();
      for (;;) {
        const step = this.#step();
        if (step === NEED_MORE) return;
        if (step === CONTINUE) continue;
        const done = this.#finish(step);
        if (done) yield done;
      }
    } catch (err) {
      if (err instanceof RespError) this.#failure = err;
      throw err;
    }
  }

  /** One move of the state machine. */
  #step(): Step {
    switch (this.#state) {
      case "TYPE":
        return this.#readType();
      case "HEADER":
        return this.#readHeader();
      case "BULK_DATA":
        return this.#readBulkData();
      case "INLINE":
        return this.#readInline();
    }
  }

  /**
   * Joining chunks costs a copy, so it waits until the awaited bytes can all be there: a large
   * bulk string arriving in many chunks, or a long line arriving byte by byte, is copied once
   * rather than once per chunk.
   */
  #isStillWaiting(chunk: Buffer): boolean {
    const available = this.#buffer.length - this.#offset + this.#heldBytes;
    switch (this.#state) {
      case "BULK_DATA":
        return available < this.#bulkLength + 2;
      case "HEADER":
      case "INLINE":
        // No LF in the new chunk: the line is still incomplete (it had no LF before either).
        if (chunk.includes(LF)) return false;
        if (available > this.#maxLineLength + 1) throw this.#lineTooLong();
        return true;
      case "TYPE":
        return false;
    }
  }

  #join(): void {
    const rest = this.#buffer.subarray(this.#offset);
    this.#buffer =
      rest.length === 0 && this.#held.length === 1
        ? (this.#held[0] as Buffer)
        : Buffer.concat([rest, ...this.#held]);
    this.#offset = 0;
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** A value is complete: it is either a top-level value or the next item of an open array. */
  #finish(value: RespValue): RespValue | undefined {
    this.#state = "TYPE";
    let done = value;
    for (;;) {
      const open = this.#open.at(-1);
      if (open === undefined) return done;
      open.items.push(done);
      if (open.items.length < open.length) return undefined;
      // The array's last item arrived, so the array is complete, and may complete its parent.
      this.#open.pop();
      done = array(open.items);
    }
  }

  #readType(): Step {
    if (this.#offset >= this.#buffer.length) return NEED_MORE;
    const byte = this.#buffer[this.#offset] as number;
    if (this.#commands) {
      // Redis reads a request starting with `*` as an array of bulk strings, anything else as
      // an inline command (processInputBuffer in Redis's networking.c).
      if (this.#open.length === 0 && byte !== STAR) {
        this.#state = "INLINE";
        return CONTINUE;
      }
      if (this.#open.length > 0 && byte !== DOLLAR) {
        throw new RespError(
          "RESP_EXPECTED_BULK",
          `Protocol error: expected '$', got '${String.fromCharCode(byte)}'`,
        );
      }
    } else if (!TYPE_BYTES.includes(byte)) {
      throw new RespError(
        "RESP_UNKNOWN_TYPE",
        `Protocol error: unknown type byte 0x${byte.toString(16).padStart(2, "0")}`,
      );
    }
    this.#type = byte;
    this.#offset += 1;
    this.#state = "HEADER";
    return CONTINUE;
  }

  #readHeader(): Step {
    // The line is read where it lies: no copy, and no string unless the value is text.
    const start = this.#offset;
    const end = this.#readLine();
    if (end === NEED_MORE) return NEED_MORE;
    const buffer = this.#buffer;
    switch (this.#type) {
      case PLUS:
        return simple(buffer.toString("utf8", start, end));
      case MINUS:
        return error(buffer.toString("utf8", start, end));
      case COLON: {
        const value = parseInteger(buffer.subarray(start, end));
        if (value === undefined) {
          throw new RespError(
            "RESP_INVALID_INTEGER",
            `Protocol error: invalid integer ${quote(buffer.subarray(start, end))}`,
          );
        }
        return integer(value);
      }
      case DOLLAR:
        return this.#startBulk(parseLength(buffer, start, end));
      default:
        return this.#startArray(parseLength(buffer, start, end));
    }
  }

  #startBulk(length: number | undefined): Step {
    // `$-1` is RESP2's null bulk string, a value that does not exist (GET of a missing key).
    // Clients never send one: a command's words exist.
    if (length === -1 && !this.#commands) return NULL_BULK;
    if (length === undefined || length < 0 || length > this.#maxBulkLength) {
      throw new RespError("RESP_INVALID_BULK_LENGTH", "Protocol error: invalid bulk length");
    }
    this.#bulkLength = length;
    this.#state = "BULK_DATA";
    return CONTINUE;
  }

  #startArray(count: number | undefined): Step {
    if (count === undefined || count > this.#maxArrayLength) {
      throw new RespError("RESP_INVALID_ARRAY_LENGTH", "Protocol error: invalid multibulk length");
    }
    if (this.#commands && count <= 0) {
      // Redis skips `*0\r\n`, `*-1\r\n` (any count below 1) from a client: an empty command,
      // with no reply.
      this.#state = "TYPE";
      return CONTINUE;
    }
    if (count < -1) {
      throw new RespError("RESP_INVALID_ARRAY_LENGTH", "Protocol error: invalid multibulk length");
    }
    if (count === -1) return NULL_ARRAY;
    if (count === 0) return array([]);
    this.#open.push({ length: count, items: [] });
    this.#state = "TYPE";
    return CONTINUE;
  }

  #readBulkData(): Step {
    const end = this.#offset + this.#bulkLength;
    // Check the count first: the data and its CRLF must all be here.
    if (this.#buffer.length < end + 2) return NEED_MORE;
    if (this.#buffer[end] !== CR || this.#buffer[end + 1] !== LF) {
      throw new RespError(
        "RESP_EXPECTED_CRLF",
        `Protocol error: expected '\\r\\n' after ${this.#bulkLength} bytes of bulk data`,
      );
    }
    // A view of the chunk, not a copy: most words (a command's name, a key to look up) are read
    // once and dropped. Whoever keeps a value copies it (the store does, and the client), so that
    // a kept value does not hold the whole network chunk in memory.
    const data = this.#buffer.subarray(this.#offset, end);
    this.#offset = end + 2;
    return bulk(data);
  }

  #readInline(): Step {
    const lf = this.#buffer.indexOf(LF, this.#offset);
    if (lf === -1) {
      if (this.#buffer.length - this.#offset > this.#maxLineLength + 1) throw this.#lineTooLong();
      return NEED_MORE;
    }
    // Inline commands end in LF, with or without a CR before it (people type them).
    const end = lf > this.#offset && this.#buffer[lf - 1] === CR ? lf - 1 : lf;
    if (end - this.#offset > this.#maxLineLength) throw this.#lineTooLong();
    const words = splitArgs(this.#buffer.subarray(this.#offset, end));
    this.#offset = lf + 1;
    if (words.length === 0) {
      // An empty line is skipped, as Redis does: pressing Enter in telnet is not a command.
      this.#state = "TYPE";
      return CONTINUE;
    }
    return array(words.map(bulk));
  }

  /**
   * Reads past the line at the read position and its CRLF, and returns where the line's CR is:
   * the line is `#buffer` from the old read position to there. NEED_MORE if the LF has not come.
   */
  #readLine(): number | typeof NEED_MORE {
    const lf = this.#buffer.indexOf(LF, this.#offset);
    if (lf === -1) {
      if (this.#buffer.length - this.#offset > this.#maxLineLength + 1) throw this.#lineTooLong();
      return NEED_MORE;
    }
    // RESP2: every line, the header of each value included, ends in CRLF.
    if (lf === this.#offset || this.#buffer[lf - 1] !== CR) {
      throw new RespError(
        "RESP_EXPECTED_CRLF",
        `Protocol error: expected '\\r\\n', got a bare '\\n' after ${quote(this.#buffer.subarray(this.#offset, lf))}`,
      );
    }
    if (lf - 1 - this.#offset > this.#maxLineLength) throw this.#lineTooLong();
    this.#offset = lf + 1;
    return lf - 1;
  }

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

/**
 * A `$` length or `*` count, `buffer[start..end)`, by the same rule as parseInteger(), as a
 * number. Every header of every command has one, so the common case, up to 15 digits (exact in a
 * double), is read digit by digit from the bytes: no string, no regular expression, no bigint. A
 * longer one is above every cap, or not a number: parseInteger() decides which, exactly.
 */
function parseLength(buffer: Buffer, start: number, end: number): number | undefined {
  const negative = buffer[start] === MINUS;
  const first = negative ? start + 1 : start;
  const digits = end - first;
  if (digits < 1 || digits > 15) {
    const value = parseInteger(buffer.subarray(start, end));
    return value === undefined ? undefined : Number(value);
  }
  // No leading zero, and no "-0": `0` is written only as itself.
  if (buffer[first] === ZERO && (digits > 1 || negative)) return undefined;
  let value = 0;
  for (let i = first; i < end; i++) {
    const digit = (buffer[i] as number) - ZERO;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

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

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22; // "
const APOSTROPHE = 0x27; // '
const BACKSLASH = 0x5c;
/** C's isspace(): space, \t, \n, \v, \f, \r. */
const isSpace = (byte: number | undefined): boolean =>
  byte === SPACE || (byte !== undefined && byte >= TAB && byte <= CR);
const HEX = /^[0-9a-fA-F]{2}$/;
/** What `\n`, `\r`, `\t`, `\b` and `\a` stand for inside double quotes. */
const ESCAPES = new Map([
  [0x6e, LF],
  [0x72, CR],
  [0x74, TAB],
  [0x62, 0x08],
  [0x61, 0x07],
]);

function unbalancedQuotes(): RespError {
  return new RespError("RESP_UNBALANCED_QUOTES", "Protocol error: unbalanced quotes in request");
}

/**
 * The words of an inline command, split as Redis splits them (sdssplitargs() in sds.c), like a
 * shell: on spaces, with "double quotes" (and the escapes \n \r \t \b \a \xHH \" inside them)
 * and 'single quotes' (with \' inside) around a word that holds spaces. A closing quote must be
 * followed by a space or the end of the line. Redis reads the line as a C string, so a NUL byte
 * ends it. Each word is a new Buffer: a word may be stored as a value.
 */
function splitArgs(input: Buffer): Buffer[] {
  const nul = input.indexOf(0);
  const line = nul === -1 ? input : input.subarray(0, nul);
  const words: Buffer[] = [];
  let i = 0;
  for (;;) {
    while (isSpace(line[i])) i++;
    if (i >= line.length) return words;
    const word: number[] = [];
    let quote: number | undefined;
    for (; ; i++) {
      const byte = line[i];
      if (quote === undefined) {
        if (byte === undefined || byte === SPACE || byte === TAB || byte === LF || byte === CR) {
          break;
        }
        if (byte === QUOTE || byte === APOSTROPHE) quote = byte;
        else word.push(byte);
        continue;
      }
      if (byte === undefined) throw unbalancedQuotes();
      if (byte === quote) {
        if (i + 1 < line.length && !isSpace(line[i + 1])) throw unbalancedQuotes();
        i++;
        break;
      }
      const next = line[i + 1];
      if (quote === QUOTE && byte === BACKSLASH && next === 0x78 /* x */) {
        const hex = line.subarray(i + 2, i + 4).toString("latin1");
        if (HEX.test(hex)) {
          word.push(Number.parseInt(hex, 16));
          i += 3;
          continue;
        }
      }
      if (byte === BACKSLASH && next !== undefined && (quote === QUOTE || next === APOSTROPHE)) {
        word.push(quote === QUOTE ? (ESCAPES.get(next) ?? next) : next);
        i++;
        continue;
      }
      word.push(byte);
    }
    words.push(Buffer.from(word));
  }
}

/** A short piece of input for an error message, as text. */
function quote(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 40).toString("latin1"));
}
