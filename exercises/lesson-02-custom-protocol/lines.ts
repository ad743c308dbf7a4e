/**
 * Given, complete: the line splitter you built in Lesson 01, adapted. Nothing to write here.
 *
 * Step 1's framing: a message is one line, ended by LF (a CR before the LF is dropped, so telnet's
 * CRLF works too). The splitter is incremental: it yields each complete line and keeps the
 * unfinished one for the next chunk.
 */

export type LineErrorCode =
  /** A line ran past the cap without its LF. */
  | "LINE_TOO_LONG"
  /** The client was asked to send a key or value the line protocol cannot carry. */
  | "LINE_UNSAFE_ARGUMENT"
  /** The connection closed with requests still waiting for replies. */
  | "LINE_CONNECTION_CLOSED"
  /** The server replied `ERR ...`. */
  | "LINE_ERROR_REPLY";

export class LineProtocolError extends Error {
  readonly code: LineErrorCode;

  constructor(code: LineErrorCode, message: string) {
    super(message);
    this.name = "LineProtocolError";
    this.code = code;
  }
}

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly #maxLineLength: number;
  /** Pieces of the unfinished line, joined once its LF arrives (never once per chunk). */
  #held: Buffer[] = [];
  #heldBytes = 0;

  constructor(maxLineLength = 64 * 1024) {
    this.#maxLineLength = maxLineLength;
  }

  /** Yields every line the chunk completes, decoded as UTF-8, without its line ending. */
  *feed(chunk: Buffer): Generator<string, void, undefined> {
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, start)) {
      this.#hold(chunk.subarray(start, lf));
      let line = Buffer.concat(this.#held, this.#heldBytes);
      this.#held = [];
      this.#heldBytes = 0;
      if (line.at(-1) === CR) line = line.subarray(0, -1);
      start = lf + 1;
      // Decoded only now that the line is whole: a UTF-8 character split across two chunks
      // would otherwise become two replacement characters.
      yield line.toString("utf8");
    }
    this.#hold(chunk.subarray(start));
  }

  #hold(piece: Buffer): void {
    if (this.#heldBytes + piece.length > this.#maxLineLength) {
      throw new LineProtocolError("LINE_TOO_LONG", `line longer than ${this.#maxLineLength} bytes`);
    }
    if (piece.length > 0) this.#held.push(piece);
    this.#heldBytes += piece.length;
  }
}
