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
export function formatEvent({ id, event, data, retry }: EventFields): string {
  let out = "";
  if (id !== undefined) {
    const value = String(id);
    // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the
    // field value. Otherwise, ignore the field." An id with a NUL would be lost without a word.
    if (/[\r\n\0]/.test(value)) throw badValue("id", value, "a CR, LF or NUL");
    out += `id: ${value}\n`;
  }
  if (event !== undefined) {
    if (/[\r\n]/.test(event)) throw badValue("event", event, "a CR or LF");
    out += `event: ${event}\n`;
  }
  // "The stream must then be parsed by reading everything line by line, with a U+000D CARRIAGE
  // RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF) character not
  // preceded by a U+000D CARRIAGE RETURN (CR) character, and a single U+000D CARRIAGE RETURN (CR)
  // character not followed by a U+000A LINE FEED (LF) character being the ways in which a line can
  // end." So each line of the text is a data line of its own; the client joins them with LF.
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  if (retry !== undefined) {
    // The client takes `retry` only if it "consists of only ASCII digits".
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new EventFieldError(
        "retry",
        `Invalid retry: ${JSON.stringify(retry)} (a whole number of ms, 0 or more)`,
      );
    }
    out += `retry: ${retry}\n`;
  }
  // "If the line is empty (a blank line): Dispatch the event."
  return `${out}\n`;
}

/**
 * A comment: "If the line starts with a U+003A COLON character (:): Ignore the line." Clients
 * skip it, and it keeps bytes moving on a quiet stream (a heartbeat). Each line of the text is a
 * comment line of its own.
 */
export function formatComment(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `: ${line}\n`)
    .join("");
}

/**
 * A stream's first bytes: the reconnection time alone, with no event. Lines without a blank line
 * after them dispatch nothing, but the client takes `retry` as soon as it reads the line.
 */
export function formatRetry(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new EventFieldError(
      "retry",
      `Invalid retry: ${JSON.stringify(ms)} (a whole number of ms, 0 or more)`,
    );
  }
  return `retry: ${ms}\n\n`;
}

function badValue(field: string, value: string, what: string): EventFieldError {
  return new EventFieldError(field, `Invalid ${field}: ${JSON.stringify(value)} holds ${what}`);
}
