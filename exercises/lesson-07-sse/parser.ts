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
import { todo } from "#shared/todo.ts";
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

export function createParser(
  callbacks: ParserCallbacks,
  options: ParserOptions = {},
): EventStreamParser {
  // TODO: options.maxEventBytes (DEFAULT_MAX_EVENT_BYTES without it) must be a whole number of at
  // least 1: anything else is the caller's bug, an EventStreamRangeError thrown at once.
  // TODO: Decoding (§9.2.5): "Streams must be decoded using the UTF-8 decode algorithm", whatever
  // the Content-Type's charset says. A character whose bytes are split between two chunks comes out
  // whole; a malformed byte sequence becomes U+FFFD. "The UTF-8 decode algorithm strips one leading
  // UTF-8 Byte Order Mark (BOM), if any": the first character of the stream only (the "bom" state),
  // never one at the start of a later chunk.
  // TODO: Lines (§9.2.5): a line ends with CRLF, with an LF, or with a CR not followed by an LF. A
  // line split between chunks is kept until its end comes. A CR ends its line at once, even as the
  // last character of a chunk; an LF at the start of the next chunk is then the rest of that line
  // end, not a blank line (the "cr" state).
  // TODO: Each line (§9.2.6): a blank line dispatches the event. A line that starts with a colon is
  // a comment: onComment gets it without the colon and one space after it. Otherwise the field is
  // the text before the first colon and the value the text after it, without ONE leading space; a
  // line with no colon is a field with the empty string as value. Field names are compared
  // literally (Data is not data).
  // TODO: Fields (§9.2.6): event sets the event type buffer; data appends its value and an LF to
  // the data buffer; id sets the last event ID buffer unless its value contains U+0000 NULL (then it
  // is ignored); retry calls onRetry with the value as a base-ten integer if it is only ASCII digits
  // (else it is ignored). Any other field is ignored. Each line ignored is reported to onError
  // (SSE_INVALID_ID, SSE_INVALID_RETRY, SSE_UNKNOWN_FIELD), and parsing goes on.
  // TODO: Dispatch (§9.2.6): the parser's lastEventId becomes the last event ID buffer, which is NOT
  // reset: later events without an id keep it. Then, if the data buffer is empty, the event type
  // buffer is emptied and nothing is dispatched. Otherwise onEvent gets the type (the event type
  // buffer, or "message" if it is empty), the data without its last LF, and lastEventId; then the
  // data and event type buffers are emptied. An event the stream ends before its blank line is never
  // dispatched.
  // TODO: The cap: when the bytes of the data buffer plus those of the line being read pass
  // maxEventBytes (count UTF-8 bytes, not characters), report SSE_EVENT_TOO_LARGE once, drop the
  // event (its data, type and id) and skip its lines up to its blank line (the "dropping" state);
  // the events after it are read as usual. A line growing past the cap is dropped before its end.
  // TODO: lastEventId starts as options.lastEventId ("" without it). reset() starts a new stream:
  // it drops a split character, the unfinished line and event, expects a BOM again, and keeps
  // lastEventId (the id buffer goes back to it).
  return todo("lesson-07-sse", "createParser()", "Step 1");
}
