/**
 * The event-stream parser: bytes in, events out, read as the HTML standard's "Server-sent events"
 * section reads a stream (§9.2.5 "Parsing an event stream", §9.2.6 "Interpreting an event stream").
 *
 *   bytes    69 64 3a 20 37 0a 64 61 74 61 3a 20 68 69 0a 0a     in one chunk, or in many
 *   text     "id: 7\ndata: hi\n\n"                                 UTF-8, one leading BOM dropped
 *   lines    "id: 7"   "data: hi"   ""                             CRLF, LF or CR ends a line
 *   fields   id buffer = "7"   data buffer += "hi\n"   blank line: dispatch
 *   event    { type: "message", data: "hi", lastEventId: "7" }
 *
 * Each step keeps what a chunk leaves unfinished: the decoder keeps a character whose bytes are
 * split between chunks, the line reader keeps a line (and a CR whose LF may come next), and the
 * event keeps its fields until the blank line that ends it.
 *
 * Nothing in a stream is fatal to it. A line the parser cannot use is ignored, as the standard
 * says, and reported to `onError`; parsing goes on with the next line.
 */
import { TextDecoder } from "node:util";
import { EventStreamError, EventStreamRangeError } from "./errors.ts";

/** An event as the standard dispatches it: a MessageEvent's type, data and lastEventId. */
export interface ServerSentEvent {
  /** The `event` field's value, or "message" when the event had none (or an empty one). */
  type: string;
  /** The values of the event's `data` lines, joined with LF. */
  data: string;
  /** The last id the stream set, by this event's `id` field or an earlier one; "" if none. */
  lastEventId: string;
}

export interface ParserCallbacks {
  /** An event, once the blank line that ends it has been read. */
  onEvent(event: ServerSentEvent): void;
  /** A `retry` field: the reconnection time the server asks for, in ms. */
  onRetry?(ms: number): void;
  /** A comment line, without its colon and the one space that may follow it. */
  onComment?(text: string): void;
  /** A line that was ignored, or an event dropped: reported, and parsing goes on. */
  onError?(error: EventStreamError): void;
}

export interface ParserOptions {
  /**
   * Cap on one event while it is buffered: the bytes of its data lines so far plus the line being
   * read. An event that grows past it is dropped, up to its blank line. 1 MiB by default.
   */
  maxEventBytes?: number;
  /** The last event ID string to start from, for a client that resumes a stream; "". */
  lastEventId?: string;
}

export interface EventStreamParser {
  /** Reads the next chunk of the stream, calling back for each event, retry and comment it ends. */
  feed(chunk: Uint8Array): void;
  /**
   * Starts a new stream, as after a reconnection: drops what the last one left unfinished (a
   * character, a line, an event) and expects a BOM again; keeps `lastEventId`.
   */
  reset(): void;
  /** The last event ID string: what the `id` fields set, as of the last blank line. */
  readonly lastEventId: string;
}

/** Where the line reader is. */
export type LineState =
  /** Nothing read yet: a U+FEFF here is the byte order mark, and is dropped. */
  | "bom"
  /** Inside a line, or at the start of one. */
  | "line"
  /** A line has just ended with a CR: an LF next belongs to that line end. */
  | "cr";

/** What happens to the lines of the event being read. */
export type EventState =
  /** Its fields are kept until the blank line that ends it. */
  | "collecting"
  /** It grew past maxEventBytes: its lines are skipped until that blank line. */
  | "dropping";

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;

export function createParser(
  callbacks: ParserCallbacks,
  options: ParserOptions = {},
): EventStreamParser {
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  if (!Number.isInteger(maxEventBytes) || maxEventBytes < 1) {
    throw new EventStreamRangeError(
      `maxEventBytes must be a whole number of bytes, at least 1, not ${String(maxEventBytes)}`,
    );
  }
  return new Parser(callbacks, maxEventBytes, options.lastEventId ?? "");
}

class Parser implements EventStreamParser {
  private readonly callbacks: ParserCallbacks;
  private readonly maxEventBytes: number;

  private decoder = utf8Decoder();
  private lineState: LineState = "bom";
  private eventState: EventState = "collecting";
  /** The line read so far, in pieces: joined once, when its line end comes, never `line += chunk`. */
  private partial: string[] = [];
  private partialBytes = 0;

  // "When a stream is parsed, a data buffer, an event type buffer, and a last event ID buffer must
  // be associated with it." (§9.2.6)
  private data = "";
  private dataBytes = 0;
  private eventType = "";
  private idBuffer: string;
  /** The event source's last event ID string, set from the buffer at each dispatch. */
  private lastId: string;

  constructor(callbacks: ParserCallbacks, maxEventBytes: number, lastEventId: string) {
    this.callbacks = callbacks;
    this.maxEventBytes = maxEventBytes;
    this.idBuffer = lastEventId;
    this.lastId = lastEventId;
  }

  get lastEventId(): string {
    return this.lastId;
  }

  feed(chunk: Uint8Array): void {
    // "Streams must be decoded using the UTF-8 decode algorithm" (§9.2.5), whatever charset the
    // Content-Type names. `stream: true` holds back the first bytes of a character that the next
    // chunk completes, instead of turning each half into U+FFFD.
    let text = this.decoder.decode(chunk, { stream: true });
    if (text === "") return; // the chunk was the start of a character
    if (this.lineState === "bom") {
      // "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any." One:
      // a second U+FEFF is text, and starts the first line's field name.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.lineState = "line";
    }
    this.readLines(text);
  }

  reset(): void {
    this.decoder = utf8Decoder();
    this.lineState = "bom";
    this.eventState = "collecting";
    this.partial = [];
    this.partialBytes = 0;
    this.data = "";
    this.dataBytes = 0;
    this.eventType = "";
    // The last event ID string belongs to the event source, not to one response: a reconnection
    // keeps it, and sends it as Last-Event-ID. An id the old stream set but never dispatched is lost.
    this.idBuffer = this.lastId;
  }

  /**
   * "A line can end" with "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a
   * single U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR)
   * character, and a single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE
   * FEED (LF) character" (§9.2.5).
   *
   * A CR ends its line at once, even as the last character of a chunk; the "cr" state remembers
   * it, so that an LF at the start of the next chunk is read as the rest of that line end, not as a
   * blank line. (Holding the CR back until the next chunk would also work, but would leave an
   * event that ends in CR CR undelivered until the server writes again.)
   */
  private readLines(text: string): void {
    let start = 0;
    if (this.lineState === "cr") {
      if (text.charCodeAt(0) === LF) start = 1;
      this.lineState = "line";
    }
    while (start < text.length) {
      const end = lineEnd(text, start);
      if (end === -1) {
        this.keep(text.slice(start));
        return;
      }
      this.endLine(text.slice(start, end));
      if (text.charCodeAt(end) === LF) {
        start = end + 1;
      } else if (end + 1 === text.length) {
        this.lineState = "cr"; // its LF, if any, is in the next chunk
        return;
      } else {
        start = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      }
    }
  }

  /** Keeps the start of a line whose end has not come yet. */
  private keep(piece: string): void {
    this.partialBytes += Buffer.byteLength(piece);
    // While an event is dropped, the count alone tells its blank line from its other lines.
    if (this.eventState === "dropping") return;
    this.partial.push(piece);
    this.checkSize();
  }

  /** A line end has come: `last` is the line's text since the previous chunk. */
  private endLine(last: string): void {
    const blank = last === "" && this.partialBytes === 0;
    const line = this.partial.length === 0 ? last : this.partial.join("") + last;
    this.partial = [];
    this.partialBytes = 0;
    if (this.eventState === "dropping") {
      if (blank) this.eventState = "collecting"; // the dropped event's blank line: read on
      return;
    }
    this.processLine(line);
  }

  /** §9.2.6: "Lines must be processed, in the order they are received, as follows". */
  private processLine(line: string): void {
    // "If the line is empty (a blank line): Dispatch the event".
    if (line === "") {
      this.dispatch();
      return;
    }
    // "If the line starts with a U+003A COLON character (:): Ignore the line." A comment: servers
    // send them as heartbeats, to keep the connection and the proxies on its way from timing out.
    if (line.charCodeAt(0) === COLON) {
      this.callbacks.onComment?.(withoutLeadingSpace(line.slice(1)));
      return;
    }
    const colon = line.indexOf(":");
    if (colon === -1) {
      // "Otherwise, the string is not empty but does not contain a U+003A COLON character (:)":
      // "using the whole line as the field name, and the empty string as the field value."
      this.processField(line, "", line);
      return;
    }
    // "Collect the characters on the line before the first U+003A COLON character (:), and let
    // field be that string. Collect the characters on the line after [it], and let value be that
    // string. If value starts with a U+0020 SPACE character, remove it from value." One space only.
    this.processField(line.slice(0, colon), withoutLeadingSpace(line.slice(colon + 1)), line);
  }

  /** "Field names must be compared literally, with no case folding performed." */
  private processField(field: string, value: string, line: string): void {
    switch (field) {
      case "event":
        // "Set the event type buffer to field value." An empty one means the default, "message".
        this.eventType = value;
        return;
      case "data":
        // "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
        // character to the data buffer."
        this.data += `${value}\n`;
        this.dataBytes += Buffer.byteLength(value) + 1;
        this.checkSize();
        return;
      case "id":
        // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to
        // the field value. Otherwise, ignore the field." An empty value is valid: it clears the id.
        if (value.includes("\0")) {
          this.report("SSE_INVALID_ID", "an id containing U+0000 NULL is ignored", line);
        } else {
          this.idBuffer = value;
        }
        return;
      case "retry":
        // "If the field value consists of only ASCII digits, then interpret the field value as an
        // integer in base ten, and set the event stream's reconnection time to that integer.
        // Otherwise, ignore the field." Not parseInt: it would take "1000x" as 1000.
        if (/^[0-9]+$/.test(value)) {
          this.callbacks.onRetry?.(Number(value));
        } else {
          this.report(
            "SSE_INVALID_RETRY",
            "a retry that is not only ASCII digits is ignored",
            line,
          );
        }
        return;
      default:
        // "Otherwise: The field is ignored." (Fields are matched with no case folding: Data is not data.)
        this.report(
          "SSE_UNKNOWN_FIELD",
          `the unknown field ${JSON.stringify(field)} is ignored`,
          line,
        );
    }
  }

  /** §9.2.6, "the appropriate steps to dispatch the event". */
  private dispatch(): void {
    // "1. Set the last event ID string of the event source to the value of the last event ID
    // buffer. The buffer does not get reset", so the id carries over to the events that follow.
    this.lastId = this.idBuffer;
    // "2. If the data buffer is an empty string, set the data buffer and the event type buffer to
    // the empty string and return." An event without a data line is not dispatched.
    if (this.data === "") {
      this.eventType = "";
      return;
    }
    const event: ServerSentEvent = {
      // "5. Initialize event's type attribute to "message" ... 6. If the event type buffer has a
      // value other than the empty string, change the type of the newly created event" to it.
      type: this.eventType === "" ? "message" : this.eventType,
      // "3. If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove
      // the last character from the data buffer." Only that one: "data:\ndata:\n\n" is "\n".
      data: this.data.slice(0, -1),
      lastEventId: this.lastId,
    };
    // "7. Set the data buffer and the event type buffer to the empty string."
    this.data = "";
    this.dataBytes = 0;
    this.eventType = "";
    this.callbacks.onEvent(event);
  }

  /** The cap: an event that grows past it is dropped whole, and the stream goes on after it. */
  private checkSize(): void {
    if (this.dataBytes + this.partialBytes <= this.maxEventBytes) return;
    this.eventState = "dropping";
    this.partial = []; // partialBytes stays: the line in progress is not a blank line
    this.data = "";
    this.dataBytes = 0;
    this.eventType = "";
    this.idBuffer = this.lastId; // its id goes with it
    this.report(
      "SSE_EVENT_TOO_LARGE",
      `an event grew past maxEventBytes (${this.maxEventBytes}) before its blank line, and is dropped`,
    );
  }

  private report(code: EventStreamError["code"], message: string, line?: string): void {
    const shown = line === undefined ? "" : `: ${JSON.stringify(line.slice(0, 80))}`;
    this.callbacks.onError?.(new EventStreamError(code, `${message}${shown}`, { line }));
  }
}

/** The UTF-8 decoder for one stream; the parser strips the BOM itself, in its "bom" state. */
function utf8Decoder(): TextDecoder {
  // Not fatal: "UTF-8 decode" turns a malformed byte sequence into U+FFFD and reads on.
  return new TextDecoder("utf-8", { ignoreBOM: true });
}

/** The index of the next CR or LF at or after `from`, or -1. */
function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === LF || code === CR) return i;
  }
  return -1;
}

function withoutLeadingSpace(value: string): string {
  return value.charCodeAt(0) === SPACE ? value.slice(1) : value;
}
