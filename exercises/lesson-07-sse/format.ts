/**
 * Writing an event stream: the bytes a server sends for one event, by the HTML standard's
 * "Server-sent events" section (§9.2.5, "Parsing an event stream", read from the other side).
 *
 *   id: 7                  the id a reconnecting client sends back as Last-Event-ID
 *   event: message         the event's type (the browser dispatches it under this name)
 *   data: first line       one data line per line of the text; the client joins them with LF
 *   data: second line
 *   retry: 2000            how long the client waits before it reconnects (ms)
 *                          a blank line ends the event: only then is it dispatched
 *
 * Every line ends with LF. The standard accepts CR, LF and CRLF alike, so a line end inside a
 * value would end the line early: data is cut into lines, and id and event may hold none.
 */
import { todo } from "#shared/todo.ts";

export interface EventFields {
  /** The event's id. It may hold no CR, LF or NUL: a client ignores an id with a NUL in it. */
  id?: string | number;
  /** The event's type; none (or "message") is a plain message event. No CR or LF. */
  event?: string;
  /** The event's text. Each of its lines (cut at CRLF, LF or CR) becomes a `data:` line. */
  data: string;
  /** The reconnection time, in ms: a whole number of 0 or more. */
  retry?: number;
}

// Given.
/** A field that cannot be written as one line: a bug in the code that builds the event. */
export class EventFieldError extends TypeError {
  readonly code = "SSE_BAD_FIELD";
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = "EventFieldError";
    this.field = field;
  }
}

/** One event, ready to write: its fields, one per line, and the blank line that dispatches it. */
export function formatEvent(fields: EventFields): string {
  // TODO: Each field the event has, as a "name: value" line ended by LF, in the order id, event,
  // data, retry; a field it lacks is left out.
  // TODO: id: "If the field value does not contain U+0000 NULL, then set the last event ID buffer
  // to the field value. Otherwise, ignore the field." An id with a NUL would be lost without a
  // word, and one with CR or LF would end its line early: refuse them with an EventFieldError
  // (given) naming the field. The same for an event type with CR or LF.
  // TODO: data: "CRLF, a single LF not preceded by CR, and a single CR not followed by LF" are
  // all the ways a line of the stream can end (HTML standard, §9.2.5). So each line of the text
  // is a "data:" line of its own; the client joins them with LF.
  // TODO: retry: the client takes it only if it "consists of only ASCII digits": a whole number of
  // 0 or more, else an EventFieldError.
  // TODO: Last, the empty line: "If the line is empty (a blank line): Dispatch the event."
  return todo("lesson-07-sse", "formatEvent()", "Step 2");
}

/**
 * A comment: "If the line starts with a U+003A COLON character (:): Ignore the line." Clients
 * skip it, and it keeps bytes moving on a quiet stream (a heartbeat). Each line of the text is a
 * comment line of its own.
 */
export function formatComment(text: string): string {
  // TODO: ": " and the text, for each of its lines, each ended by LF.
  return todo("lesson-07-sse", "formatComment()", "Step 2");
}

/**
 * A stream's first bytes: the reconnection time alone, with no event. Lines without a blank line
 * after them dispatch nothing, but the client takes `retry` as soon as it reads the line.
 */
export function formatRetry(ms: number): string {
  // TODO: The retry line and an empty line; an EventFieldError for what is not ASCII digits.
  return todo("lesson-07-sse", "formatRetry()", "Step 2");
}
