import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, test } from "vitest";
import {
  EventFieldError,
  formatComment,
  formatEvent,
  formatRetry,
} from "#lesson/lesson-07-sse/format.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";

/** What a real client makes of the bytes: eventsource-parser, fed them all at once. */
function read(text: string) {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (ms) => retries.push(ms),
  });
  parser.feed(text);
  return { events, comments, retries };
}

describe("Step 2: The event-stream server", () => {
  test("formatEvent writes id, event and data lines, each ended by LF, and a blank line that dispatches them", () => {
    const text = formatEvent({ id: 7, event: "message", data: "hi" });
    expect(
      text,
      `an event is its fields, one "name: value" line each, then an empty line:\n  got ${show(text)}`,
    ).toBe("id: 7\nevent: message\ndata: hi\n\n");
    expect(read(text).events).toEqual([{ id: "7", event: "message", data: "hi" }]);
  });

  test("formatEvent leaves out the fields it is not given: data alone is a message event", () => {
    const text = formatEvent({ data: "hi" });
    expect(text, show(text)).toBe("data: hi\n\n");
    expect(read(text).events).toEqual([{ id: undefined, event: undefined, data: "hi" }]);
  });

  test.each([
    ["LF", "one\ntwo\nthree"],
    ["CRLF", "one\r\ntwo\r\nthree"],
    ["CR", "one\rtwo\rthree"],
  ])(
    "a text with %s line ends becomes one data line per line, which the client joins with LF",
    (_name, data) => {
      const text = formatEvent({ id: 1, data });
      expect(
        text,
        `CR, LF and CRLF all end a line of the stream: each line of the text needs a "data:" line ` +
          `of its own, or the client reads the rest as fields of their own:\n  got ${show(text)}`,
      ).toBe("id: 1\ndata: one\ndata: two\ndata: three\n\n");
      expect(read(text).events.map((e) => e.data)).toEqual(["one\ntwo\nthree"]);
    },
  );

  test("an empty text is one empty data line: the client dispatches an event with empty data", () => {
    const text = formatEvent({ data: "" });
    expect(read(text).events, show(text)).toEqual([{ id: undefined, event: undefined, data: "" }]);
  });

  test("a text that looks like fields, or starts with a space, stays data", () => {
    const data = " id: 9\nevent: x\n: not a comment";
    const { events } = read(formatEvent({ id: 1, data }));
    expect(
      events,
      'the space after "data:" is the one the client removes: a text starting with a space keeps it',
    ).toEqual([{ id: "1", event: undefined, data }]);
  });

  test("UTF-8 text goes through whole", () => {
    const data = "héllo, 世界 🎉";
    expect(read(formatEvent({ data })).events.map((e) => e.data)).toEqual([data]);
  });

  test("retry is written as a retry line of ASCII digits, which the client takes", () => {
    const text = formatEvent({ data: "hi", retry: 2500 });
    expect(text, show(text)).toBe("data: hi\nretry: 2500\n\n");
    expect(read(text).retries).toEqual([2500]);
  });

  test("a retry of 0 is a retry like any other: reconnect at once", () => {
    expect(formatEvent({ data: "hi", retry: 0 })).toBe("data: hi\nretry: 0\n\n");
    expect(formatRetry(0), "0 is ASCII digits too").toBe("retry: 0\n\n");
    expect(read(formatRetry(0)).retries).toEqual([0]);
  });

  test.each([
    ["id", { id: "4\n5", data: "x" }],
    ["id", { id: "4\r", data: "x" }],
    ["id", { id: "a\0b", data: "x" }],
    ["event", { event: "tick\ntock", data: "x" }],
    ["event", { event: "tick\r", data: "x" }],
    ["retry", { retry: -1, data: "x" }],
    ["retry", { retry: 1.5, data: "x" }],
  ])(
    "a bad %s field, one the client could not read back, is refused: SSE_BAD_FIELD",
    (field, fields) => {
      const error = thrownBy(() => formatEvent(fields));
      expect(
        codeOf(error),
        `a line end in ${field} would end its line early, and the client would read the rest as ` +
          "another field (an id with NUL is ignored by the client, a retry must be ASCII digits): " +
          "refuse it with an EventFieldError",
      ).toBe("SSE_BAD_FIELD");
      expect(error).toBeInstanceOf(EventFieldError);
      expect((error as EventFieldError).field).toBe(field);
    },
  );

  test("formatComment writes a line starting with a colon, which the client skips", () => {
    const text = formatComment("heartbeat");
    expect(text, show(text)).toBe(": heartbeat\n");
    const { events, comments } = read(text + formatEvent({ data: "after" }));
    expect(comments.map((c) => c.trim())).toEqual(["heartbeat"]);
    expect(
      events.map((e) => e.data),
      "a comment is not part of the next event",
    ).toEqual(["after"]);
  });

  test("a comment of several lines is a comment line for each", () => {
    const text = formatComment("one\ntwo");
    expect(text, show(text)).toBe(": one\n: two\n");
    expect(read(text).events).toEqual([]);
  });

  test("formatRetry writes the retry line alone, which dispatches no event", () => {
    const text = formatRetry(2000);
    expect(text, show(text)).toBe("retry: 2000\n\n");
    const { events, retries } = read(text);
    expect(retries).toEqual([2000]);
    expect(events, "a retry line is not an event").toEqual([]);
    expect(codeOf(thrownBy(() => formatRetry(-5)))).toBe("SSE_BAD_FIELD");
  });
});
