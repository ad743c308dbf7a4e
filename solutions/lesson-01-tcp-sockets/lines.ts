import { LineProtocolError } from "./errors.ts";

// The wire format: a line is any run of bytes ended by LF (0x0A). A CR (0x0D) right before the LF
// is part of the line ending, not of the line, so "PING\r\n" (nc -C, telnet, Windows tools) and
// "PING\n" (plain nc) are the same line. A CR anywhere else is an ordinary byte.
const LF = 0x0a;
const CR = 0x0d;

/** 8 KiB: far more than any command of this protocol needs, small enough to hold per client. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;

export interface LineSplitterOptions {
  /** The longest line accepted, in bytes, not counting its line ending. */
  maxLineBytes?: number;
}

/**
 * Turns a TCP byte stream back into lines. TCP delivers bytes, not messages: one `data` event may
 * hold half a line, or three lines and the start of a fourth. `feed()` takes each chunk as it comes,
 * yields every line it completes and keeps the unfinished rest for the next chunk.
 *
 *   feed("PI")        -> (nothing yet)    keeps "PI"
 *   feed("NG\nEC")    -> "PING"           keeps "EC"
 *   feed("HO hi\r\n") -> "ECHO hi"        keeps nothing
 *
 * Lines come out as Buffers: a UTF-8 character may be split across two chunks, and only a whole
 * line is safe to decode. (An LF byte never occurs inside a multi-byte UTF-8 character, whose
 * bytes are all 0x80 or above, so splitting on LF never cuts a character.)
 */
export class LineSplitter {
  readonly maxLineBytes: number;

  // The line in progress: every byte received since the last LF, as the chunks that carried it.
  // Keeping the pieces and joining them once, when the LF arrives, keeps a long line linear;
  // `pending = Buffer.concat([pending, chunk])` on every chunk would copy it over and over.
  private parts: Buffer[] = [];
  private size = 0;

  constructor({ maxLineBytes = DEFAULT_MAX_LINE_BYTES }: LineSplitterOptions = {}) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${String(maxLineBytes)}`);
    }
    this.maxLineBytes = maxLineBytes;
  }

  /** How many bytes of an unfinished line are held. 0 means the stream is between lines. */
  get pendingBytes(): number {
    return this.size;
  }

  /**
   * Yields each line that `chunk` completes, without its line ending, in order. Throws a
   * LineProtocolError LINE_TOO_LONG when a line passes `maxLineBytes`, after yielding the lines
   * before it: the caller answers those first. Iterate to the end; the rest is kept for later.
   */
  *feed(chunk: Buffer): Generator<Buffer, void, undefined> {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) break;
      const line = this.takeLine(chunk.subarray(start, lf));
      start = lf + 1;
      yield line;
    }
    // No LF in the rest of the chunk: need more bytes. Keep them, unless they already make the
    // line too long. The check comes before storing, so a client that never sends an LF can make
    // us hold at most maxLineBytes + 1 bytes, not everything it sends.
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    this.checkLength(this.size + rest.length - (rest[rest.length - 1] === CR ? 1 : 0));
    this.parts.push(rest);
    this.size += rest.length;
  }

  /** Joins the held bytes with the piece before the LF and drops the line ending's CR. */
  private takeLine(last: Buffer): Buffer {
    let line =
      this.size === 0 ? last : Buffer.concat([...this.parts, last], this.size + last.length);
    this.parts = [];
    this.size = 0;
    // A CR held at the end of the previous chunk needs no special case: it was kept as the last
    // pending byte, and it is dropped here, now that its LF has come.
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.checkLength(line.length);
    return line;
  }

  /**
   * `lineBytes` counts the line without its ending. A trailing CR is not counted while its LF may
   * still come; if the next byte is not an LF, that CR is counted on the next feed().
   */
  private checkLength(lineBytes: number): void {
    if (lineBytes <= this.maxLineBytes) return;
    this.parts = [];
    this.size = 0;
    throw new LineProtocolError(
      "LINE_TOO_LONG",
      `line too long: ${lineBytes} bytes already, over the limit of ${this.maxLineBytes}`,
    );
  }
}
