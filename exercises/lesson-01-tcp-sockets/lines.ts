import { todo } from "#shared/todo.ts";

// The wire format: a line is any run of bytes ended by LF (0x0A). A CR (0x0D) right before the LF
// is part of the line ending, not of the line, so "PING\r\n" (nc -C, telnet, Windows tools) and
// "PING\n" (plain nc) are the same line. A CR anywhere else is an ordinary byte.

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
 *
 * Given: the constructor, the fields and `pendingBytes`. You write `feed()`.
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
  feed(chunk: Buffer): Generator<Buffer, void, undefined> {
    // TODO: Make this a generator method, so that the lines before an over-long one are handed
    //       out before it throws (Step 4).
    // TODO: Each LF byte ends a line; a CR right before it belongs to the line ending and is
    //       dropped. A CR anywhere else is part of the line. The bytes of a line may have come in
    //       any number of earlier chunks: a CR held at the end of one chunk is dropped once its LF
    //       arrives in the next.
    // TODO: Bytes after the last LF are the start of the next line: keep them for the next call,
    //       as pieces, joined once when the line is complete (not copied again on every chunk).
    // TODO (Step 4): A line longer than maxLineBytes (counted in bytes, without its ending) throws
    //       LineProtocolError LINE_TOO_LONG (./errors.ts), and what was held is dropped. Check
    //       before keeping bytes, not only when the LF comes: a peer that never sends one must not
    //       make us hold more than the cap. A CR at the very end of the held bytes is not counted
    //       while its LF may still come.
    return todo("lesson-01-tcp-sockets", "LineSplitter.feed()", "Step 1");
  }
}
