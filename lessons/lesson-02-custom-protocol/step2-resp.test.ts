import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encode, encodeCommand } from "#lesson/lesson-02-custom-protocol/encoder.ts";
import { RespParser } from "#lesson/lesson-02-custom-protocol/parser.ts";
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
} from "#lesson/lesson-02-custom-protocol/resp.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { byteByByte, splitAt } from "../../shared/testing/chunks.ts";
import { codeOf as codeOfError, thrownBy } from "../../shared/testing/errors.ts";
import { parseChunks, parseFailure } from "./helpers.ts";

/** The examples of the RESP2 specification, value and bytes. */
const SPEC_EXAMPLES: [string, RespValue, string][] = [
  ["a simple string", simple("OK"), "+OK\r\n"],
  ["an error", error("ERR unknown command 'foobar'"), "-ERR unknown command 'foobar'\r\n"],
  ["an integer", integer(1000), ":1000\r\n"],
  ["a negative integer", integer(-7), ":-7\r\n"],
  ["a bulk string", bulk("hello"), "$5\r\nhello\r\n"],
  ["the empty bulk string", bulk(""), "$0\r\n\r\n"],
  ["the null bulk string", NULL_BULK, "$-1\r\n"],
  [
    "an array of bulk strings",
    array([bulk("hello"), bulk("world")]),
    "*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n",
  ],
  ["the empty array", array([]), "*0\r\n"],
  ["the null array", NULL_ARRAY, "*-1\r\n"],
  [
    "an array of mixed types",
    array([integer(1), integer(2), integer(3), integer(4), bulk("hello")]),
    "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
  ],
  [
    "a nested array",
    array([array([integer(1), integer(2), integer(3)]), array([simple("Hello"), error("World")])]),
    "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
  ],
  [
    "a null inside an array",
    array([bulk("hello"), NULL_BULK, bulk("world")]),
    "*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n",
  ],
];

/** The code of `error`; a stub's own error is no answer to "which code?": it fails the test as is. */
const codeOfThrown = (error: unknown): string => {
  if (codeOfError(error) === "COURSE_NOT_IMPLEMENTED") throw error;
  return codeOfError(error);
};

/** The code of the error `fn` throws. */
const codeOf = (fn: () => unknown): string => codeOfThrown(thrownBy(fn));

describe("Step 2: RESP2 framing: an incremental parser and an encoder", () => {
  describe("the encoder", () => {
    test.each(SPEC_EXAMPLES)("encodes %s as the spec writes it", (_name, value, bytes) => {
      const encoded = encode(value);
      expect(
        show(encoded),
        explain("encode()", inspect(value, { depth: 6 }), show(bytes), encoded),
      ).toBe(show(bytes));
    });

    test("counts a bulk string's length in bytes, not characters: 'héllo' is $6", () => {
      const encoded = encode(bulk("héllo"));
      expect(show(encoded)).toBe(show(Buffer.from("$6\r\nhéllo\r\n")));
    });

    test("counts a command's words in bytes, not characters: ECHO 'héllo' sends $6", () => {
      const encoded = encodeCommand(["ECHO", "héllo"]);
      const expected = Buffer.from("*2\r\n$4\r\nECHO\r\n$6\r\nhéllo\r\n");
      expect(
        show(encoded),
        explain("encodeCommand(['ECHO', 'héllo'])", "", show(expected), encoded),
      ).toBe(show(expected));
    });

    test("encodes a command as an array of bulk strings", () => {
      const encoded = encodeCommand(["SET", "k", Buffer.from([0xff, 0x0d, 0x0a])]);
      expect(show(encoded)).toBe(
        show(Buffer.from("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\xff\r\n\r\n", "latin1")),
      );
    });

    test("refuses a simple string or error containing CR or LF (RESP_INVALID_SIMPLE_STRING)", () => {
      expect(codeOf(() => encode(simple("two\r\nlines")))).toBe("RESP_INVALID_SIMPLE_STRING");
      expect(codeOf(() => encode(error("ERR bad\nthing")))).toBe("RESP_INVALID_SIMPLE_STRING");
    });
  });

  describe("the parser", () => {
    test.each(SPEC_EXAMPLES)("parses %s from the spec's bytes", (_name, value, bytes) => {
      const parsed = parseChunks([bytes]);
      expect(
        parsed,
        explain(
          "parser.feed()",
          bytes,
          inspect(value, { depth: 6 }),
          inspect(parsed, { depth: 6 }),
        ),
      ).toEqual([value]);
    });

    test("yields nothing for half a value: 'need more bytes' is not the null bulk string", () => {
      const parser = new RespParser();
      const half = [...parser.feed(Buffer.from("$-"))];
      expect(half, "after '$-' the parser must wait, not yield a value").toEqual([]);
      const rest = [...parser.feed(Buffer.from("1\r\n"))];
      expect(rest, "'$-1\\r\\n' is the null bulk string").toEqual([NULL_BULK]);
    });

    test("waits when a length prefix is split across chunks ($1 | 2\\r\\n...)", () => {
      expect(parseChunks(["$1", "2\r\nhello world!\r\n"])).toEqual([bulk("hello world!")]);
    });

    test("waits when a chunk ends between \\r and \\n", () => {
      expect(parseChunks(["+OK\r", "\n"])).toEqual([simple("OK")]);
      expect(parseChunks(["$5\r\nhello\r", "\n"])).toEqual([bulk("hello")]);
      expect(parseChunks(["*1\r", "\n:5\r\n"])).toEqual([array([integer(5)])]);
    });

    test("waits when a chunk ends inside bulk data", () => {
      expect(parseChunks(["$11\r\nhello", " wor", "ld\r\n"])).toEqual([bulk("hello world")]);
    });

    test("parses every value when fed one byte at a time", () => {
      const bytes = SPEC_EXAMPLES.map(([, , b]) => b).join("");
      expect(parseChunks(byteByByte(bytes))).toEqual(SPEC_EXAMPLES.map(([, value]) => value));
    });

    test("yields two values from one chunk, in order", () => {
      expect(parseChunks(["+OK\r\n:42\r\n"])).toEqual([simple("OK"), integer(42)]);
    });

    test("keeps the bytes after a value for the next value", () => {
      const parser = new RespParser();
      expect([...parser.feed(Buffer.from("+OK\r\n$5\r\nhel"))]).toEqual([simple("OK")]);
      expect([...parser.feed(Buffer.from("lo\r\n"))]).toEqual([bulk("hello")]);
    });

    test("keeps \\r\\n inside a bulk string as data", () => {
      expect(parseChunks(["$4\r\na\r\nb\r\n"])).toEqual([bulk("a\r\nb")]);
    });

    test("keeps a UTF-8 character split across chunks whole", () => {
      const bytes = Buffer.from("$2\r\né\r\n");
      expect(parseChunks([bytes.subarray(0, 5), bytes.subarray(5)])).toEqual([bulk("é")]);
    });

    test("reads a 64-bit integer exactly, beyond what a JS number can hold", () => {
      expect(parseChunks([":9223372036854775807\r\n"])).toEqual([integer(2n ** 63n - 1n)]);
    });

    test("closes nested arrays that end together", () => {
      expect(parseChunks(["*1\r\n*1\r\n*1\r\n", ":1\r\n"])).toEqual([
        array([array([array([integer(1)])])]),
      ]);
    });
  });

  describe("the parser refuses what RESP2 does not allow", () => {
    const cases: [string, string, string, string][] = [
      [
        "a bulk length that is not a number",
        "$x\r\n",
        "RESP_INVALID_BULK_LENGTH",
        "Protocol error: invalid bulk length",
      ],
      [
        "a bulk length below -1",
        "$-2\r\n",
        "RESP_INVALID_BULK_LENGTH",
        "Protocol error: invalid bulk length",
      ],
      [
        "an array count that is not a number",
        "*x\r\n",
        "RESP_INVALID_ARRAY_LENGTH",
        "Protocol error: invalid multibulk length",
      ],
      [
        "an unknown type byte",
        "!oops\r\n",
        "RESP_UNKNOWN_TYPE",
        "Protocol error: unknown type byte 0x21",
      ],
      ["a line ended by a bare LF", "+OK\n", "RESP_EXPECTED_CRLF", ""],
      [
        "bulk data not followed by CRLF",
        "$3\r\nabcde\r\n",
        "RESP_EXPECTED_CRLF",
        "Protocol error: expected '\\r\\n' after 3 bytes of bulk data",
      ],
      ["bulk data followed by LF without CR", "$3\r\nabcX\n", "RESP_EXPECTED_CRLF", ""],
      ["bulk data followed by CR without LF", "$3\r\nabc\rX", "RESP_EXPECTED_CRLF", ""],
      ["an integer that is not a number", ":12a\r\n", "RESP_INVALID_INTEGER", ""],
      ["an integer beyond 64 bits", ":9223372036854775808\r\n", "RESP_INVALID_INTEGER", ""],
    ];
    test.each(cases)("refuses %s", (_name, bytes, code, message) => {
      const { values, error: err } = parseFailure([bytes]);
      const got = err
        ? `${err.name} ${err.code}: ${err.message}`
        : `no error; yielded ${inspect(values, { depth: 6 })}`;
      expect(err?.code, explain("parser.feed()", bytes, `a RespError with code ${code}`, got)).toBe(
        code,
      );
      if (message) expect(err?.message, "the message, worded as Redis words it").toBe(message);
    });

    test("refuses a bulk length above its cap before reading the data", () => {
      const { error: err } = parseFailure(["$1025\r\n"], { maxBulkLength: 1024 });
      expect(err?.code).toBe("RESP_INVALID_BULK_LENGTH");
      expect(
        parseChunks(["$1024\r\n", "x".repeat(1024), "\r\n"], { maxBulkLength: 1024 }),
      ).toHaveLength(1);
    });

    test("takes each cap as the largest value allowed, not one less", () => {
      const caps = { maxLineLength: 10, maxArrayLength: 2 };
      expect(parseChunks([`+${"a".repeat(10)}\r\n`], caps), "a 10-byte line").toHaveLength(1);
      expect(parseFailure([`+${"a".repeat(11)}\r\n`], caps).error?.message).toBe(
        "Protocol error: line longer than 10 bytes",
      );
      expect(parseFailure(byteByByte(`+${"a".repeat(12)}`), caps).error?.code).toBe(
        "RESP_LINE_TOO_LONG",
      );
      expect(
        parseChunks(byteByByte(`+${"a".repeat(10)}\r\n`), caps),
        "10 bytes, one by one",
      ).toHaveLength(1);
      expect(parseChunks(["*2\r\n:1\r\n:2\r\n"], caps), "an array of 2").toHaveLength(1);
      expect(parseFailure([`*${"1".repeat(20)}`], caps).error?.message).toBe(
        "Protocol error: too big mbulk count string",
      );
      const commands = { mode: "commands", ...caps } as const;
      expect(
        parseChunks([`${"a".repeat(10)}\r\n`], commands),
        "a 10-byte inline command",
      ).toHaveLength(1);
      expect(parseChunks(byteByByte(`${"a".repeat(10)}\r\n`), commands)).toHaveLength(1);
      expect(parseFailure([`${"a".repeat(11)}\r\n`], commands).error?.code).toBe(
        "RESP_LINE_TOO_LONG",
      );
      expect(parseFailure(byteByByte("a".repeat(12)), commands).error?.code).toBe(
        "RESP_LINE_TOO_LONG",
      );
      // 512 MiB by default: the header of a value that large is accepted, one byte more is not.
      expect(parseChunks([`$${512 * 1024 * 1024}\r\n`]), "waiting for 512 MiB").toEqual([]);
      expect(parseFailure([`$${512 * 1024 * 1024 + 1}\r\n`]).error?.code).toBe(
        "RESP_INVALID_BULK_LENGTH",
      );
    });

    test("reads integers as Redis does: the whole line, down to -2^63", () => {
      expect(parseChunks([":-9223372036854775808\r\n"])).toEqual([integer(-(2n ** 63n))]);
      for (const line of [":-9223372036854775809\r\n", ":x1\r\n", ":+1\r\n", ":01\r\n"]) {
        expect(parseFailure([line]).error?.code, line).toBe("RESP_INVALID_INTEGER");
      }
    });

    test.each([
      ["$\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["$ 3\r\nabc\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["$+3\r\nabc\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["$03\r\nabc\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["$3 \r\nabc\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["$0x3\r\nabc\r\n", "RESP_INVALID_BULK_LENGTH"],
      ["*\r\n", "RESP_INVALID_ARRAY_LENGTH"],
      ["*0x2\r\n:1\r\n:2\r\n", "RESP_INVALID_ARRAY_LENGTH"],
      ["*+2\r\n:1\r\n:2\r\n", "RESP_INVALID_ARRAY_LENGTH"],
      ["*02\r\n:1\r\n:2\r\n", "RESP_INVALID_ARRAY_LENGTH"],
    ])("a length is decimal digits only, as Redis reads it: refuses %j", (bytes, code) => {
      const { values, error: err } = parseFailure([bytes]);
      const got = err
        ? `${err.name} ${err.code}: ${err.message}`
        : `no error; yielded ${inspect(values, { depth: 6 })}`;
      expect(
        err?.code,
        explain(
          "parser.feed() (Number() takes '', ' 3', '+3', '03' and '0x3' as numbers; Redis does not)",
          bytes,
          `a RespError with code ${code}`,
          got,
        ),
      ).toBe(code);
    });

    test("refuses an array count above its cap", () => {
      expect(parseFailure(["*11\r\n"], { maxArrayLength: 10 }).error?.code).toBe(
        "RESP_INVALID_ARRAY_LENGTH",
      );
    });

    test("refuses a line that runs past its cap without CRLF, even arriving byte by byte", () => {
      const { error: err } = parseFailure(byteByByte(`+${"a".repeat(200)}`), {
        maxLineLength: 100,
      });
      expect(err?.code).toBe("RESP_LINE_TOO_LONG");
      const header = parseFailure([`$${"1".repeat(200)}`], { maxLineLength: 100 }).error;
      expect(header?.message).toBe("Protocol error: too big bulk count string");
    });

    test("is done after an error: every later feed() throws it again, and yields nothing", () => {
      const parser = new RespParser();
      const first = thrownBy(() => [...parser.feed(Buffer.from("$x\r\n"))]);
      expect(codeOfThrown(first)).toBe("RESP_INVALID_BULK_LENGTH");
      const values: RespValue[] = [];
      // A parser that carried on would read these bytes as a length and data, a bulk string "abc".
      const again = thrownBy(() => {
        for (const value of parser.feed(Buffer.from("3\r\nabc\r\n"))) values.push(value);
      });
      expect(
        { code: codeOfThrown(again), values },
        "after a framing error nothing can be trusted: '3\\r\\nabc\\r\\n' fed next is no value",
      ).toEqual({ code: "RESP_INVALID_BULK_LENGTH", values: [] });
    });

    test("yields the values before a syntax error, then throws", () => {
      const { values, error: err } = parseFailure(["+OK\r\n:1\r\n$x\r\n"]);
      expect(values).toEqual([simple("OK"), integer(1)]);
      expect(err).toBeInstanceOf(RespError);
      expect(err?.code).toBe("RESP_INVALID_BULK_LENGTH");
    });
  });

  describe("commands mode: what a Redis server reads", () => {
    const commands = { mode: "commands" } as const;

    test("reads an array of bulk strings as a command", () => {
      expect(parseChunks(["*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"], commands)).toEqual([
        array([bulk("GET"), bulk("k")]),
      ]);
    });

    test("reads an inline command typed by hand: 'SET k  v\\r\\n' is three words", () => {
      expect(parseChunks(["SET k  v\r\nPING\n"], commands)).toEqual([
        array([bulk("SET"), bulk("k"), bulk("v")]),
        array([bulk("PING")]),
      ]);
    });

    test("reads an inline command split across chunks, between \\r and \\n too", () => {
      const chunks = ["PI", "NG\r", "\nECHO a", "b\r\n"];
      const parsed = parseChunks(chunks, commands);
      expect(
        parsed,
        explain(
          "commands-mode feed(), chunk by chunk",
          chunks.join(""),
          "PING, then ECHO ab",
          inspect(parsed, { depth: 6 }),
        ),
      ).toEqual([array([bulk("PING")]), array([bulk("ECHO"), bulk("ab")])]);
    });

    test("splits an inline command as Redis does: quotes group words, with escapes inside", () => {
      const line = `SET "a b" 'c d' "\\x41\\n\\"" '\\'' x"y z" ""\r\n`;
      const parsed = parseChunks([line], commands);
      const expected = array(["SET", "a b", "c d", 'A\n"', "'", "xy z", ""].map(bulk));
      expect(
        parsed,
        explain("commands-mode feed()", line, inspect(expected), inspect(parsed, { depth: 6 })),
      ).toEqual([expected]);
    });

    test("splits inline words byte for byte as Redis does: escapes only in double quotes", () => {
      const cases: [string, string[]][] = [
        ["ECHO '\\x41' 'a\\nb'\r\n", ["ECHO", "\\x41", "a\\nb"]],
        ['ECHO "\\n\\r\\t\\b\\a\\q" "\\x4" "\\xzz"\r\n', ["ECHO", "\n\r\t\b\x07q", "x4", "xzz"]],
        ["\x0bECHO a\x0bb c\rd\r\n", ["ECHO", "a\x0bb", "c", "d"]],
        ["ECHO a\x00b c\r\n", ["ECHO", "a"]],
      ];
      for (const [line, words] of cases) {
        const parsed = parseChunks([Buffer.from(line, "latin1")], commands);
        const expected = array(words.map((w) => bulk(Buffer.from(w, "latin1"))));
        expect(
          parsed,
          explain("commands-mode feed()", line, inspect(expected), inspect(parsed)),
        ).toEqual([expected]);
      }
    });

    test.each([
      ["a quote not closed", 'ECHO "a b\r\n'],
      ["a closing quote followed by more than a space", 'ECHO "a b"c\r\n'],
      ["a single quote not closed", "ECHO 'a\r\n"],
    ])("refuses %s: unbalanced quotes in request", (_name, line) => {
      const { error: err } = parseFailure([line], commands);
      expect(
        err?.code,
        explain("commands-mode feed()", line, "RESP_UNBALANCED_QUOTES", String(err)),
      ).toBe("RESP_UNBALANCED_QUOTES");
      expect(err?.message).toBe("Protocol error: unbalanced quotes in request");
    });

    test("skips empty inline lines and the empty arrays *0, *-1 and *-5, as Redis does", () => {
      expect(parseChunks(["\r\n\r\n*0\r\n*-1\r\n*-5\r\nPING\r\n"], commands)).toEqual([
        array([bulk("PING")]),
      ]);
    });

    test("refuses an array item that is not a bulk string: expected '$', got '+'", () => {
      const { error: err } = parseFailure(["*1\r\n+PING\r\n"], commands);
      expect(err?.code).toBe("RESP_EXPECTED_BULK");
      expect(err?.message).toBe("Protocol error: expected '$', got '+'");
    });

    test("refuses $-1 inside a command: a command's words exist", () => {
      expect(parseFailure(["*1\r\n$-1\r\n"], commands).error?.message).toBe(
        "Protocol error: invalid bulk length",
      );
    });

    test("refuses an inline command longer than its cap: too big inline request", () => {
      const { error: err } = parseFailure(["a".repeat(70 * 1024)], commands);
      expect(err?.code).toBe("RESP_LINE_TOO_LONG");
      expect(err?.message).toBe("Protocol error: too big inline request");
    });
  });

  describe("properties (fast-check)", () => {
    const bytes = fc
      .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0d, 0x0a, 0x24, 0x2a)), {
        maxLength: 40,
      })
      .map((b) => Buffer.from(b));
    // Any code point but a surrogate half, as fc.string({ unit: "binary" }) makes them. Built from
    // code points here because fc.string() tokenizes its built-in tricky strings against the unit,
    // which for a unit of a million code points costs half a second before the first run.
    const codePoint = fc.oneof(
      fc.integer({ min: 0, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0x10ffff }),
    );
    const line = fc
      .array(codePoint, { maxLength: 20 })
      .map((points) => String.fromCodePoint(...points))
      .filter((s) => !/[\r\n]/.test(s));
    const { value } = fc.letrec<{ value: RespValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        line.map(simple),
        line.map(error),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(integer),
        bytes.map(bulk),
        fc.constant(NULL_BULK),
        fc.constant(NULL_ARRAY),
        fc.array(tie("value"), { maxLength: 4 }).map(array),
      ),
    }));
    const cuts = fc.array(fc.nat(), { maxLength: 12 });

    test("any values, encoded and fed back in any chunk split, decode to the same values", () => {
      fc.assert(
        fc.property(fc.array(value, { maxLength: 6 }), cuts, (values, at) => {
          const wire = Buffer.concat(values.map(encode));
          expect(parseChunks(splitAt(wire, ...at.map((n) => n % (wire.length + 1))))).toEqual(
            values,
          );
        }),
        { numRuns: 300 },
      );
    });

    test("any command, encoded and split anywhere, is read back in commands mode", () => {
      fc.assert(
        fc.property(fc.array(bytes, { minLength: 1, maxLength: 5 }), cuts, (words, at) => {
          const wire = encodeCommand(words);
          const chunks = splitAt(wire, ...at.map((n) => n % (wire.length + 1)));
          expect(parseChunks(chunks, { mode: "commands" })).toEqual([array(words.map(bulk))]);
        }),
        { numRuns: 300 },
      );
    });
  });
});
