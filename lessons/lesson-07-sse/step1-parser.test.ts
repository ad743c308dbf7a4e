import { createParser as referenceParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  createParser,
  type EventStreamParser,
  type ParserOptions,
  type ServerSentEvent,
} from "#lesson/lesson-07-sse/parser.ts";
import { show } from "../../shared/testing/bytes.ts";
import { byteByByte, everySplit, splitAt } from "../../shared/testing/chunks.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";

/** An error a test caught: an unwritten stub's is rethrown, so the test fails with its message. */
function written(error: unknown): unknown {
  if ((error as { code?: unknown } | null)?.code === "COURSE_NOT_IMPLEMENTED") throw error;
  return error;
}

/** What a parser called back with while it read a stream. */
interface Parsed {
  events: ServerSentEvent[];
  retries: number[];
  comments: string[];
  /** The codes of the errors reported to onError, in order. */
  errors: string[];
  parser: EventStreamParser;
}

type Input = string | Uint8Array;

/** Text as the UTF-8 bytes a server sends; bytes as they are. */
function bytes(input: Input): Buffer {
  return typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input);
}

/** A fresh parser that records every callback. */
function recorder(options?: ParserOptions): Parsed {
  const parsed: Omit<Parsed, "parser"> = { events: [], retries: [], comments: [], errors: [] };
  const parser = createParser(
    {
      onEvent: (event) => parsed.events.push({ ...event }),
      onRetry: (ms) => parsed.retries.push(ms),
      onComment: (text) => parsed.comments.push(text),
      onError: (error) => parsed.errors.push(codeOf(error)),
    },
    options,
  );
  return { ...parsed, parser };
}

/** Feeds each chunk in turn to a fresh parser (each string as its UTF-8 bytes). */
function parse(chunks: Input | Input[], options?: ParserOptions): Parsed {
  const parsed = recorder(options);
  for (const chunk of [chunks].flat()) parsed.parser.feed(bytes(chunk));
  return parsed;
}

/** The chunks as a failure message shows them: each one's bytes, with | between. */
function fed(chunks: Input | Input[]): string {
  const list = [chunks].flat().map(bytes);
  if (list.length === 1) return `fed ${show(list[0] as Buffer)}`;
  if (list.every((chunk) => chunk.length === 1))
    return `fed byte by byte: ${show(Buffer.concat(list))}`;
  return `fed in ${list.length} chunks: ${list.map((chunk) => show(chunk)).join(" | ")}`;
}

function message(data: string, lastEventId = ""): ServerSentEvent {
  return { type: "message", data, lastEventId };
}

/** Fails, showing the chunks, unless the parser dispatches exactly these events. */
function expectEvents(chunks: Input | Input[], expected: ServerSentEvent[], why = ""): Parsed {
  const parsed = parse(chunks);
  expect(parsed.events, `${fed(chunks)}${why ? `\n${why}` : ""}`).toEqual(expected);
  return parsed;
}

/** The same stream in one chunk, byte by byte, and split in two at every offset: the same events. */
function expectEventsHoweverCut(stream: Input, expected: ServerSentEvent[], why = ""): void {
  expectEvents(stream, expected, why);
  expectEvents(byteByByte(bytes(stream)), expected, why);
  for (const split of everySplit(bytes(stream))) expectEvents(split, expected, why);
}

describe("Step 1: The event-stream parser", () => {
  describe("events", () => {
    test("an event is its data, dispatched at the blank line, as type message with no id", () => {
      expectEvents("data: hello\n\n", [message("hello")]);
    });

    test("an event the stream ends before its blank line is not dispatched", () => {
      expectEvents(
        ["data: one\n\n", "data: two\n"],
        [message("one")],
        "An event is dispatched at the blank line that ends it, never before: a stream that ends " +
          "in the middle of an event drops it (§9.2.6: the incomplete event is not dispatched).",
      );
      expectEvents("data: one", [], "A line without its line end is not a line yet.");
    });

    test("two events in one chunk are two events, in order", () => {
      expectEvents("data: one\n\ndata: two\n\n", [message("one"), message("two")]);
    });

    test("several data lines are joined with LF, and only the last LF is removed", () => {
      const why =
        "Each data line appends its value and an LF to the data buffer; at dispatch only the one " +
        "last LF is removed.";
      expectEvents("data: a\ndata: b\ndata: c\n\n", [message("a\nb\nc")], why);
      expectEvents("data:\ndata:\n\n", [message("\n")], why);
      expectEvents("data: a\ndata:\n\n", [message("a\n")], why);
    });

    test("one space after the colon is removed, and only one", () => {
      const why =
        "If the value starts with a U+0020 SPACE, remove it: that one space, no more, and no tab.";
      expectEvents("data:x\n\n", [message("x")], why);
      expectEvents("data: x\n\n", [message("x")], why);
      expectEvents("data:  x\n\n", [message(" x")], why);
      expectEvents("data:\tx\n\n", [message("\tx")], why);
      expectEvents("data: x \n\n", [message("x ")], "Trailing spaces are part of the value.");
    });

    test("a value may contain colons: the field ends at the first one", () => {
      expectEvents("data: a:b: c\n\n", [message("a:b: c")]);
      expectEvents("data::x\n\n", [message(":x")]);
    });

    test("a line with no colon is a field with an empty value", () => {
      expectEvents("data\n\n", [message("")], '"data" alone is the field data with the value "".');
      expectEvents("data\ndata\n\n", [message("\n")]);
    });

    test("a blank line with no data before it dispatches nothing", () => {
      expectEvents(
        "\n\nevent: ping\n\nid: 1\n\n",
        [],
        "An event whose data buffer is empty (no data line) is not dispatched.",
      );
    });

    test("event sets the type; an empty one means message; the type does not carry over", () => {
      expectEvents("event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n", [
        { type: "add", data: "1", lastEventId: "" },
        message("2"),
        message("3"),
      ]);
    });

    test("an event type set in an event with no data does not reach the next event", () => {
      expectEvents("event: add\n\ndata: 1\n\n", [message("1")]);
    });
  });

  describe("ids", () => {
    test("id sets lastEventId, which carries over to the events after it until another id", () => {
      const parsed = expectEvents(
        "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
        [message("a", "1"), message("b", "1"), message("c", "2")],
        "The last event ID buffer is not reset when an event is dispatched: an event without an " +
          "id field has the last id the stream set.",
      );
      expect(parsed.parser.lastEventId, "parser.lastEventId after the stream").toBe("2");
    });

    test("an empty id clears lastEventId", () => {
      expectEvents("id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n", [
        message("a", "1"),
        message("b"),
        message("c"),
      ]);
    });

    test("an id that contains NUL is ignored, and reported", () => {
      const parsed = expectEvents(
        "id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n",
        [message("a", "1"), message("b", "1")],
        'An id whose value contains U+0000 NULL is ignored: the last id stays "1".',
      );
      expect(parsed.errors, "reported to onError").toEqual(["SSE_INVALID_ID"]);
    });

    test("an id in an event with no data sets lastEventId all the same", () => {
      const parsed = expectEvents("id: 5\n\ndata: x\n\n", [message("x", "5")]);
      expect(parsed.parser.lastEventId).toBe("5");
    });

    test("lastEventId is the id as of the last blank line: an unfinished event's id does not count", () => {
      const parsed = parse("id: 1\ndata: a\n\nid: 2\ndata: b\n");
      expect(
        parsed.parser.lastEventId,
        `${fed("id: 1\ndata: a\n\nid: 2\ndata: b\n")}\nThe event with id 2 has not ended: a client ` +
          'that reconnects now must say it has seen "1", or it would never get event 2.',
      ).toBe("1");
    });

    test("lastEventId starts at the lastEventId option", () => {
      const parsed = parse("data: a\n\n", { lastEventId: "41" });
      expect(parsed.events).toEqual([message("a", "41")]);
      expect(parsed.parser.lastEventId).toBe("41");
      expect(parse("").parser.lastEventId, "without the option").toBe("");
    });
  });

  describe("retry, comments and other fields", () => {
    test("retry with only ASCII digits goes to onRetry, at once, as a number in base ten", () => {
      const parsed = parse("retry: 2500\n");
      expect(parsed.retries, fed("retry: 2500\n")).toEqual([2500]);
      expect(parse("retry:0\n").retries, "retry:0").toEqual([0]);
    });

    test.each(["1000x", "-1", "1.5", "", " 5", "0x10", "1e3", "\uff11\uff12", "١٢"])(
      "retry: %j is ignored, and reported",
      (value) => {
        const parsed = parse(`retry: 500\nretry: ${value}\n`);
        expect(
          parsed.retries,
          `${fed(`retry: 500\nretry: ${value}\n`)}\nOnly a value of ASCII digits 0-9 sets the ` +
            "reconnection time; any other is ignored (not parseInt, which reads the digits up front).",
        ).toEqual([500]);
        expect(parsed.errors, "reported to onError").toEqual(["SSE_INVALID_RETRY"]);
      },
    );

    test("comments go to onComment, without the colon and one space, and end no event", () => {
      const parsed = expectEvents(": hello\n:\n:  two\ndata: a\n: inside\ndata: b\n\n", [
        message("a\nb"),
      ]);
      expect(parsed.comments).toEqual(["hello", "", " two", "inside"]);
      expect(parsed.errors, "a comment is not an error").toEqual([]);
    });

    test("unknown fields are ignored and reported; field names are case-sensitive", () => {
      const parsed = expectEvents(
        "Data: x\nfoo: bar\nDATA\ndata: y\n\n",
        [message("y")],
        "Field names are compared literally: Data and DATA are not data.",
      );
      expect(parsed.errors).toEqual([
        "SSE_UNKNOWN_FIELD",
        "SSE_UNKNOWN_FIELD",
        "SSE_UNKNOWN_FIELD",
      ]);
    });

    test("each error reported names the line that was ignored", () => {
      const lines: (string | undefined)[] = [];
      const parser = createParser({
        onEvent: () => {},
        onError: (error) => lines.push((error as { line?: string }).line),
      });
      parser.feed(bytes("retry: soon\nid: a\0b\nfoo: bar\n"));
      expect(lines, "the errors' line, without its line end").toEqual([
        "retry: soon",
        "id: a\0b",
        "foo: bar",
      ]);
    });

    test("a parser given only onEvent reads every kind of line", () => {
      const events: ServerSentEvent[] = [];
      const parser = createParser({ onEvent: (event) => events.push(event) });
      const stream = ": c\nretry: 1\nretry: x\nid: a\0\nfoo: bar\ndata: ok\n\n";
      parser.feed(bytes(stream));
      expect(events, `${fed(stream)}\nonRetry, onComment and onError are optional`).toEqual([
        message("ok"),
      ]);
    });
  });

  describe("line ends", () => {
    test("CRLF, LF and CR each end a line", () => {
      expectEventsHoweverCut("data: a\r\ndata: b\ndata: c\rdata: d\r\n\r\n", [
        message("a\nb\nc\nd"),
      ]);
    });

    test.each([
      ["LF LF", "data: x\n\n"],
      ["CR CR", "data: x\r\r"],
      ["CRLF CRLF", "data: x\r\n\r\n"],
      ["CRLF LF", "data: x\r\n\n"],
      ["LF CR", "data: x\n\r"],
      ["CR LF LF", "data: x\r\n\n"],
    ])("%s ends an event", (_name, stream) => {
      expectEventsHoweverCut(stream, [message("x")]);
    });

    test("CR LF is one line end, not two: it does not end the event", () => {
      expectEventsHoweverCut("data: a\r\ndata: b\r\n\r\n", [message("a\nb")]);
    });

    test("a CR that ends a chunk, then an LF that starts the next, is one line end", () => {
      expectEvents(
        ["data: a\r", "\ndata: b\r\n\r\n"],
        [message("a\nb")],
        "The LF after a CR is part of the same line end, even when it comes in the next chunk: " +
          "reading it as a blank line dispatches the event too early.",
      );
      expectEvents(
        ["data: a\r", new Uint8Array(0), "\ndata: b\n\n"],
        [message("a\nb")],
        "An empty chunk between the CR and its LF changes nothing.",
      );
    });

    test("a CR that ends a chunk ends its line at once: the event comes without waiting", () => {
      const parsed = parse("data: a\r\r");
      expect(
        parsed.events,
        `${fed("data: a\r\r")}\nA CR ends its line even at the end of a chunk: here it is the ` +
          "blank line, and the event must not wait for the server's next write.",
      ).toEqual([message("a")]);
      parsed.parser.feed(bytes("\ndata: b\n\n"));
      expect(parsed.events, "then an LF (the CR's), and another event").toEqual([
        message("a"),
        message("b"),
      ]);
    });
  });

  describe("UTF-8 and the BOM", () => {
    test("a UTF-8 character split across chunks stays whole", () => {
      const stream = "data: é € 😀\n\n";
      for (const split of everySplit(bytes(stream))) {
        expectEvents(
          split,
          [message("é € 😀")],
          "Decode with one TextDecoder for the stream and decode(chunk, { stream: true }): it " +
            "keeps the first bytes of a character until the next chunk brings the rest.",
        );
      }
      expectEvents(byteByByte(bytes(stream)), [message("é € 😀")]);
    });

    test("bytes that are not UTF-8 become U+FFFD, and parsing goes on", () => {
      expectEvents(Buffer.from([...bytes("data: a"), 0xff, ...bytes("b\n\ndata: c\n\n")]), [
        message("a\ufffdb"),
        message("c"),
      ]);
    });

    test("one BOM at the start of the stream is dropped, even split into its three bytes", () => {
      expectEventsHoweverCut("\uFEFFdata: a\n\n", [message("a")]);
    });

    test("only the first BOM: one at the start of a later chunk is text", () => {
      const parsed = expectEvents(
        ["\uFEFFdata: a\n\n", "\uFEFFdata: b\n\n"],
        [message("a")],
        "Only the stream's first BOM is dropped; the second chunk's first field is \"\\uFEFFdata\", " +
          "an unknown field.",
      );
      expect(parsed.errors).toEqual(["SSE_UNKNOWN_FIELD"]);
    });
  });

  describe("reset", () => {
    test("reset() starts a new stream: the unfinished event is dropped, the BOM dropped again, lastEventId kept", () => {
      const parsed = parse("\uFEFFid: 1\ndata: a\n\nid: 2\ndata: unfinished\nda");
      parsed.parser.reset();
      parsed.parser.feed(bytes("\uFEFFta: b\n\n"));
      parsed.parser.feed(bytes("data: c\n\n"));
      expect(
        parsed.events,
        'After reset(), the old stream\'s unfinished line and event are gone ("ta: b" is an ' +
          'unknown field, not the end of "da"), a BOM is dropped again, and lastEventId is the ' +
          'last one dispatched ("1"): the id of the unfinished event never counted.',
      ).toEqual([message("a", "1"), message("c", "1")]);
    });

    test("reset() drops a character split at the end of the old stream", () => {
      const parsed = parse(Buffer.from([...bytes("data: x\n\ndata: "), 0xc3]));
      parsed.parser.reset();
      parsed.parser.feed(bytes("data: y\n\n"));
      expect(parsed.events).toEqual([message("x"), message("y")]);
    });
  });

  describe("the cap on an event", () => {
    test("an event past maxEventBytes is dropped and reported, and the next one comes through", () => {
      // By the README's rule (the data so far plus the line being read) the cap is passed at the
      // second data line: 11 bytes of data ("0123456789" and its LF) and the 16 of that line, 27.
      // (A parser that counts a whole line only once it is added to the data passes it at the
      // third, 33: the event is dropped either way.) The lines after it are the dropped event's too.
      const stream =
        "data: 0123456789\ndata: 0123456789\ndata: 0123456789\nid: 9\ndata: tail\ndata: more\n\n" +
        "data: ok\n\n";
      const parsed = parse(stream, { maxEventBytes: 24 });
      expect(
        parsed.events,
        `${fed(stream)} with maxEventBytes 24: the whole event is dropped, the lines after the ` +
          "cap was passed too, up to its blank line",
      ).toEqual([message("ok")]);
      expect(parsed.errors, "reported to onError, once").toEqual(["SSE_EVENT_TOO_LARGE"]);
    });

    test("an event under the cap comes through", () => {
      expectEvents("data: 0123456789\n\n", [message("0123456789")]);
      const parsed = parse("data: 0123\n\n", { maxEventBytes: 24 });
      expect(parsed.events).toEqual([message("0123")]);
      expect(parsed.errors).toEqual([]);
    });

    test("a line that grows past the cap in pieces is reported before its end comes", () => {
      const parsed = recorder({ maxEventBytes: 64 });
      parsed.parser.feed(bytes("data: "));
      for (let i = 0; i < 20; i++) parsed.parser.feed(bytes("xxxxxxxxxx"));
      expect(
        parsed.errors,
        "200 bytes of one line with no line end yet, and maxEventBytes 64: the parser must not " +
          "keep buffering a line it will drop",
      ).toEqual(["SSE_EVENT_TOO_LARGE"]);
      parsed.parser.feed(bytes("xxxx"));
      parsed.parser.feed(bytes("\n")); // the end of that long line: not a blank line
      parsed.parser.feed(bytes("data: tail\n\ndata: ok\n\n"));
      expect(
        parsed.events,
        'The LF that ends the long line is not a blank line, though it came alone: "data: tail" ' +
          "is still the dropped event's; the event after its blank line comes through",
      ).toEqual([message("ok")]);
    });

    test("the cap counts bytes, not characters", () => {
      const stream = "data: éééééééééé\n\n"; // 10 characters, 20 bytes
      const parsed = parse(stream, { maxEventBytes: 16 });
      expect(
        parsed.events,
        `${fed(stream)} with maxEventBytes 16: é is 2 bytes in UTF-8 (Buffer.byteLength)`,
      ).toEqual([]);
      expect(parsed.errors).toEqual(["SSE_EVENT_TOO_LARGE"]);
    });

    test("a dropped event takes its id with it", () => {
      const parsed = parse(
        "id: 1\ndata: a\n\nid: 2\ndata: 0123456789012345678901234\n\ndata: b\n\n",
        {
          maxEventBytes: 16,
        },
      );
      expect(parsed.events).toEqual([message("a", "1"), message("b", "1")]);
    });

    test("the cap is 1 MiB unless set", () => {
      const big = "x".repeat(1024 * 1024);
      const parsed = parse(`data: ${big}\n\ndata: ${"y".repeat(60_000)}\n\n`);
      expect(parsed.errors, "an event of 1 MiB and 1 byte of data").toEqual([
        "SSE_EVENT_TOO_LARGE",
      ]);
      expect(parsed.events.map((event) => event.data.length)).toEqual([60_000]);
    });

    test("a cap of 1 byte is a cap", () => {
      const parsed = parse("data: x\n\n", { maxEventBytes: 1 });
      expect(parsed.errors, "maxEventBytes 1 is allowed, and data: x is over it").toEqual([
        "SSE_EVENT_TOO_LARGE",
      ]);
    });

    test.each([0, -1, 1.5, Number.NaN])(
      "maxEventBytes %s is refused with SSE_OUT_OF_RANGE",
      (max) => {
        expect(
          codeOf(
            written(thrownBy(() => createParser({ onEvent: () => {} }, { maxEventBytes: max }))),
          ),
        ).toBe("SSE_OUT_OF_RANGE");
      },
    );
  });

  // Cases from the web-platform-tests (eventsource/format-*), the tests every browser's
  // EventSource runs. Their server (resources/message.py) writes the message, then "\n\n\n",
  // or "\n" alone with newline=none. Each is checked in one chunk and byte by byte.
  describe("web-platform-tests", () => {
    const ALWAYS = "\n\n\n";
    const NONE = "\n";

    function wpt(stream: string, expected: ServerSentEvent[]): Parsed {
      expectEvents(byteByByte(bytes(stream)), expected);
      return expectEvents(stream, expected);
    }

    test("format-bom: a BOM at the start is dropped; one at the start of a later event is not", () => {
      wpt(`\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3${ALWAYS}`, [message("1"), message("3")]);
    });

    test("format-bom-2: of two BOMs only the first is dropped, so the first field is not data", () => {
      wpt(`\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3${ALWAYS}`, [message("2"), message("3")]);
    });

    test("format-comments: comments of every line end and length, between data lines", () => {
      const long = "x".repeat(2 * 1024);
      wpt(`data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n${NONE}`, [
        message("1\n2\n3\n4"),
      ]);
    });

    test("format-data-before-final-empty-line: the stream ends before the blank line of an event with an id", () => {
      const parsed = wpt(`retry:1000\ndata:test1\n\nid:test\ndata:test2${NONE}`, [
        message("test1"),
      ]);
      expect(parsed.retries).toEqual([1000]);
      expect(parsed.parser.lastEventId, "the unfinished event's id does not count").toBe("");
    });

    test("format-field-data: data with and without a colon", () => {
      wpt(`data:\n\ndata\ndata\n\ndata:test${ALWAYS}`, [
        message(""),
        message("\n"),
        message("test"),
      ]);
    });

    test("format-field-event: a custom event type, then the default one", () => {
      wpt(`event:test\ndata:x\n\ndata:x${ALWAYS}`, [
        { type: "test", data: "x", lastEventId: "" },
        message("x"),
      ]);
    });

    test("format-field-event-empty: an empty event type is message", () => {
      wpt(`event: \ndata:data${ALWAYS}`, [message("data")]);
    });

    test("format-field-id: a non-ASCII id, kept across a reconnection", () => {
      // resources/last-event-id.py: the id, or after a reconnection the Last-Event-ID it got.
      const parsed = wpt("id: …\nretry: 200\ndata: hello\n\n", [message("hello", "…")]);
      expect(parsed.retries).toEqual([200]);
      parsed.parser.reset();
      parsed.parser.feed(bytes("data: …\n\n"));
      expect(parsed.events.at(-1), "after reset(): the id is kept").toEqual(message("…", "…"));
    });

    test("format-field-id-2: the id is kept across two reconnections", () => {
      const parsed = parse("id: …\nretry: 200\ndata: hello\n\n");
      for (const _ of [1, 2]) {
        parsed.parser.reset();
        parsed.parser.feed(bytes("data: …\n\n"));
      }
      expect(parsed.events).toEqual([message("hello", "…"), message("…", "…"), message("…", "…")]);
    });

    test("format-field-id-3: the id persists, changes and persists, and resets", () => {
      wpt("id: 1\ndata: 1\n\ndata:2\n\n", [message("1", "1"), message("2", "1")]);
      wpt("id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n", [
        message("1", "1"),
        message("2", "2"),
        message("3", "2"),
      ]);
      wpt("id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n", [
        message("1", "1"),
        message("2"),
        message("3"),
      ]);
    });

    test("format-field-id-null: an id of NULs is ignored", () => {
      const parsed = wpt("id: \0\0\nretry: 200\ndata: hello\n\n", [message("hello")]);
      expect(parsed.parser.lastEventId).toBe("");
    });

    test("format-field-parsing: fields by the exact name, split at the first colon, one space removed", () => {
      const stream =
        "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n";
      wpt(`${stream}${NONE}`, [message("\0\n 2\n1\n3\n\n4")]);
    });

    test("format-field-retry: retry is read in base ten, 02000 is 2000", () => {
      expect(wpt(`retry:02000\ndata:x${ALWAYS}`, [message("x")]).retries).toEqual([2000]);
    });

    test("format-field-retry-bogus: a retry with a letter is ignored, the one before it stays", () => {
      expect(wpt(`retry:2000\nretry:1000x\ndata:x${ALWAYS}`, [message("x")]).retries).toEqual([
        2000,
      ]);
    });

    test("format-field-unknown: unknown fields, a field with a leading space, text with no colon", () => {
      wpt(
        `data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test${ALWAYS}`,
        [message("test\n\ntest")],
      );
    });

    test("format-leading-space: a tab is kept, one space is removed, and a CR ends a line", () => {
      wpt(`data:\ttest\rdata: \ndata:test${ALWAYS}`, [message("\ttest\n\ntest")]);
    });

    test("format-newlines: CRLF, LF, and a CR whose LF comes after it", () => {
      wpt(`data:test\r\ndata\ndata:test\r\n\r${NONE}`, [message("test\n\ntest")]);
    });

    test("format-null-character: NUL in data is data", () => {
      wpt(`data:\0\n\n${NONE}`, [message("\0")]);
    });

    test("format-utf-8: the stream is always UTF-8", () => {
      wpt(`data:ok…${ALWAYS}`, [message("ok…")]);
    });
  });

  describe("against eventsource-parser", () => {
    // Lines of every kind the format has, with values that try its corners: no space, one space,
    // two; empty values; NUL in an id; retries that are not digits; multi-byte characters.
    const text = fc.string({
      unit: fc.constantFrom("a", "b", " ", ":", "\0", "é", "€", "😀", "\uFEFF", "\t"),
      maxLength: 6,
    });
    const after = fc.constantFrom(":", ": ", ":  ", "");
    const dataLine = fc.tuple(after, text).map(([sep, value]) => `data${sep}${sep ? value : ""}`);
    const idLine = fc
      .tuple(after, fc.constantFrom("1", "2", "abc", "", "a\0b", "…", " 7"))
      .map(([sep, value]) => `id${sep}${sep ? value : ""}`);
    const otherLine = fc.oneof(
      fc
        .tuple(after, fc.constantFrom("add", "", "message", "é"))
        .map(([sep, v]) => `event${sep}${sep ? v : ""}`),
      fc.constantFrom("retry: 10", "retry:0200", "retry: 1x", "retry: -1", "retry:", "retry"),
      text.map((value) => `:${value}`),
      fc.constantFrom("Data: x", "foo", "foo: bar", " data: x", "\uFEFFdata: x"),
    );
    // An event block: its lines, then a blank line. A block with an id line always has a data line
    // too, for the reason in the property's comment.
    const block = fc
      .tuple(fc.array(fc.oneof(dataLine, otherLine), { maxLength: 4 }), fc.option(idLine), fc.nat())
      .map(([lines, id, at]) => {
        if (id === null) return lines;
        const withId = [...lines];
        withId.splice(at % (withId.length + 1), 0, id);
        return withId.some((line) => line.startsWith("data")) ? withId : [...withId, "data: x"];
      });
    const stream = fc
      .tuple(
        fc.boolean(),
        fc.array(block, { maxLength: 6 }),
        fc.boolean(),
        fc.infiniteStream(fc.constantFrom("\n", "\r", "\r\n")),
      )
      .map(([bom, blocks, endsWithBlank, ends]) => {
        const lines = blocks.flatMap((lines, i) =>
          i < blocks.length - 1 || endsWithBlank ? [...lines, ""] : lines,
        );
        return (bom ? "\uFEFF" : "") + lines.map((line) => line + ends.next().value).join("");
      });
    const cuts = fc.array(fc.nat(), { maxLength: 8 });

    test("random streams cut at random places give the same events as eventsource-parser", () => {
      fc.assert(
        fc.property(stream, cuts, (text, at) => {
          const sent = bytes(text);
          const chunks = splitAt(sent, ...at.map((n) => n % (sent.length + 1)));
          const ours = parse(chunks);
          const theirs = withEventsourceParser(chunks);
          const shown = `${fed(chunks)}\n(eventsource-parser read the same chunks)`;
          expect(ours.events, `events: ${shown}`).toEqual(theirs.events);
          expect(ours.retries, `retries: ${shown}`).toEqual(theirs.retries);
          expect(ours.comments, `comments: ${shown}`).toEqual(theirs.comments);
        }),
        { numRuns: 300 },
      );
    });
  });
});

/**
 * The same chunks read by eventsource-parser, mapped to the standard's dispatched events. It takes
 * text, so the bytes go through one streaming TextDecoder first (which drops one leading BOM, as
 * the standard's UTF-8 decode does).
 *
 * The mapping: eventsource-parser's `event` is undefined when the standard's type is "message".
 * Its `id` is the event's own id field, undefined when the event had none, while the standard's
 * lastEventId is the last id the stream set, carried over from event to event. So the last
 * defined `id` is carried over here. That is the whole of the standard's rule only if every id
 * reaches an event: eventsource-parser does not report an event without data, and so cannot tell
 * of an id in one (the standard keeps it). The generator therefore gives a data line to every block
 * that has an id line. (Two blocks can merge into one, when a line ending in CR is followed by the
 * blank line's LF; the merged block has the data of the block that had the id.)
 *
 * One more difference: eventsource-parser holds back a CR at the end of a chunk until the next
 * chunk says whether an LF follows it. At the end of the stream there is no next chunk, so a final
 * CR is given its LF here (a CRLF is one line end, as the CR alone was).
 */
function withEventsourceParser(chunks: Buffer[]) {
  const events: ServerSentEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  let lastEventId = "";
  const parser = referenceParser({
    onEvent: ({ id, event, data }: EventSourceMessage) => {
      if (id !== undefined) lastEventId = id;
      events.push({ type: event ?? "message", data, lastEventId });
    },
    onRetry: (ms) => retries.push(ms),
    onComment: (comment) => comments.push(comment),
  });
  const decoder = new TextDecoder();
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  if (Buffer.concat(chunks).at(-1) === 0x0d) parser.feed("\n");
  return { events, retries, comments };
}
