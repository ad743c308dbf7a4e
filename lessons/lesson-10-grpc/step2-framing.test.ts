import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  frameMessage,
  MessageDeframer,
  parseTimeout,
  Status,
  type LengthPrefixedMessage,
} from "#lesson/lesson-10-grpc/grpc-wire.ts";
import { codeOf } from "../../shared/testing/errors.ts";
import { assertProperty, refusal, visible } from "./protobuf-helpers.ts";

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(" ", ""), "hex");
/** GetUserRequest { id: "123" }: field 1, wire type 2 (0x0a), 3 bytes, "123". */
const REQUEST = hex("0a 03 31 32 33");

/** What a deframer gives, as hex, for a failure message and an exact comparison. */
function shown(messages: LengthPrefixedMessage[]): string[] {
  return messages.map((m) => `${m.compressed ? 1 : 0} ${Buffer.from(m.message).toString("hex")}`);
}

/** What a deframer must do with any chunk: give back every message it completes, and keep the rest. */
const DEFRAMER =
  "feed(chunk) returns every message the chunk completes, none, one or several, and keeps the " +
  "bytes after them for the next chunk: DATA frame boundaries have no relation to " +
  "Length-Prefixed-Message boundaries (PROTOCOL-HTTP2.md). The messages are shown as " +
  "'<Compressed-Flag> <message bytes in hex>'.";

/** Feeds each chunk in turn and keeps every message, in order. */
function deframe(chunks: Uint8Array[], deframer = new MessageDeframer()): string[] {
  return chunks.flatMap((chunk) => shown(deframer.feed(chunk)));
}

describe("Step 2: gRPC on the wire", () => {
  describe("the Length-Prefixed-Message", () => {
    test("frameMessage writes Compressed-Flag 0, a 4-byte big-endian length, then the message", () => {
      expect(frameMessage(REQUEST).toString("hex")).toBe("00000000050a03313233");
    });

    test("a 300-byte message has length 00 00 01 2c: four bytes, most significant first", () => {
      const framed = frameMessage(Buffer.alloc(300, 0x61));
      expect(framed.subarray(0, 5).toString("hex"), "the prefix of a 300-byte message").toBe(
        "000000012c",
      );
      expect(framed.length).toBe(305);
    });

    test("an empty message is a prefix alone: 00 00 00 00 00", () => {
      // GetUserRequest { id: "" } encodes to no bytes at all: proto3 leaves defaults off the wire.
      expect(frameMessage(new Uint8Array(0)).toString("hex")).toBe("0000000000");
    });

    test("a compressed message has Compressed-Flag 1", () => {
      expect(frameMessage(REQUEST, true).subarray(0, 1).toString("hex")).toBe("01");
    });
  });

  describe("the deframer: DATA frame boundaries have no relation to message boundaries", () => {
    const framed = hex("00 00000005 0a03313233");

    test("one message in one DATA frame", () => {
      expect(deframe([framed]), DEFRAMER).toEqual(["0 0a03313233"]);
    });

    test("two messages in one DATA frame are two messages", () => {
      const second = hex("00 00000002 0a00");
      expect(
        deframe([Buffer.concat([framed, second])]),
        `${DEFRAMER} Once the first message is taken, the next 5 bytes are the second's prefix.`,
      ).toEqual(["0 0a03313233", "0 0a00"]);
    });

    test("a message fed one byte at a time comes out once, whole, after its last byte", () => {
      const deframer = new MessageDeframer();
      const seen: string[][] = [];
      for (const byte of framed) seen.push(shown(deframer.feed(Uint8Array.of(byte))));
      expect(
        seen.slice(0, -1).flat(),
        `${DEFRAMER} Nothing is a message before its last byte is in.`,
      ).toEqual([]);
      expect(seen.at(-1), `${DEFRAMER} The last byte completes the message.`).toEqual([
        "0 0a03313233",
      ]);
    });

    test("a prefix split after 2 bytes, and a message split mid-way, still make one message", () => {
      expect(
        deframe([framed.subarray(0, 2), framed.subarray(2, 7), framed.subarray(7)]),
        `${DEFRAMER} A prefix cut after 2 bytes waits for its other 3.`,
      ).toEqual(["0 0a03313233"]);
    });

    test("a DATA frame that ends one message and starts the next", () => {
      const two = Buffer.concat([framed, hex("00 00000002 0a00")]);
      const deframer = new MessageDeframer();
      expect(
        deframe([two.subarray(0, 12)], deframer),
        `${DEFRAMER} The chunk's last 2 bytes start the next prefix.`,
      ).toEqual(["0 0a03313233"]);
      expect(
        deframe([two.subarray(12)], deframer),
        `${DEFRAMER} The 2 bytes kept from the first chunk are the start of this prefix.`,
      ).toEqual(["0 0a00"]);
    });

    test("an empty message (length 0) is a message, not 'need more bytes'", () => {
      expect(
        deframe([hex("00 00000000")]),
        `${DEFRAMER} A Message-Length of 0 completes a message at once, with no bytes.`,
      ).toEqual(["0 "]);
    });

    test("the Compressed-Flag comes out with the message", () => {
      expect(
        deframe([hex("01 00000001 ff")]),
        `${DEFRAMER} Each message comes with its Compressed-Flag ({ compressed: true } for 1).`,
      ).toEqual(["1 ff"]);
    });

    test("a message larger than the limit is refused from its prefix: RESOURCE_EXHAUSTED", () => {
      const deframer = new MessageDeframer({ maxMessageBytes: 100 });
      const rule =
        "With maxMessageBytes 100, the prefix 00 00000065 announces 101 bytes: feed() throws " +
        "GRPC_MESSAGE_TOO_LARGE (status RESOURCE_EXHAUSTED) as soon as it reads that length, " +
        "before a byte of the message is buffered";
      const error = refusal(() => deframer.feed(hex("00 00000065")), rule);
      expect(codeOf(error), rule).toBe("GRPC_MESSAGE_TOO_LARGE");
      expect((error as { status?: unknown }).status, rule).toBe(Status.RESOURCE_EXHAUSTED);
    });

    test("a message of exactly the limit is taken", () => {
      const deframer = new MessageDeframer({ maxMessageBytes: 3 });
      expect(
        deframe([hex("00 00000003 616263")], deframer),
        "A message of exactly maxMessageBytes is within the limit; only a longer one is refused.",
      ).toEqual(["0 616263"]);
    });

    test("a Compressed-Flag other than 0 or 1 is an error", () => {
      const rule =
        "The Compressed-Flag is 0 or 1 (PROTOCOL-HTTP2.md); 02 00000000 is no message, and " +
        "feed() throws GRPC_BAD_COMPRESSED_FLAG";
      expect(
        codeOf(refusal(() => new MessageDeframer().feed(hex("02 00000000")), rule)),
        rule,
      ).toBe("GRPC_BAD_COMPRESSED_FLAG");
    });

    test("end() in the middle of a message or a prefix is a truncated message; at a boundary, fine", () => {
      const truncated = (what: string): string =>
        `end() is the stream's END_STREAM: ${what}, so the last message is cut short and end() ` +
        "throws GRPC_TRUNCATED_MESSAGE";
      const mid = new MessageDeframer();
      mid.feed(framed.subarray(0, 7));
      const midRule = truncated("it came 2 bytes into a 5-byte message");
      expect(codeOf(refusal(() => mid.end(), midRule)), midRule).toBe("GRPC_TRUNCATED_MESSAGE");
      const inPrefix = new MessageDeframer();
      inPrefix.feed(framed.subarray(0, 3));
      const prefixRule = truncated("it came 3 bytes into a 5-byte prefix");
      expect(codeOf(refusal(() => inPrefix.end(), prefixRule)), prefixRule).toBe(
        "GRPC_TRUNCATED_MESSAGE",
      );
      const whole = new MessageDeframer();
      whole.feed(framed);
      expect(
        () => whole.end(),
        "end() after a whole message is the call's normal end",
      ).not.toThrow();
    });

    test("end() right after a prefix that announced bytes is a truncated message too", () => {
      const deframer = new MessageDeframer();
      expect(shown(deframer.feed(hex("00 00000005"))), "a prefix alone is no message").toEqual([]);
      const rule =
        "end() is the stream's END_STREAM: a prefix announced 5 bytes and none came, so " +
        "end() throws GRPC_TRUNCATED_MESSAGE even with no message byte buffered";
      expect(codeOf(refusal(() => deframer.end(), rule)), rule).toBe("GRPC_TRUNCATED_MESSAGE");
    });

    test("the truncation says how far the stream got: 3 bytes of a 9-byte message, 2 of the 5-byte prefix", () => {
      const mid = new MessageDeframer();
      mid.feed(hex("00 00000009 0a 03 31"));
      const midRule = "end() 3 bytes into a 9-byte message throws, naming both counts";
      const midMessage = String((refusal(() => mid.end(), midRule) as Error).message);
      expect(
        midMessage,
        `${midRule}: the bytes that came (3) and the length announced (9)`,
      ).toMatch(/\b3\b.*\b9\b/);
      const inPrefix = new MessageDeframer();
      inPrefix.feed(hex("00 00"));
      const prefixRule = "end() 2 bytes into the 5-byte prefix throws, naming both counts";
      const prefixMessage = String((refusal(() => inPrefix.end(), prefixRule) as Error).message);
      expect(
        prefixMessage,
        `${prefixRule}: the bytes that came (2) and the prefix's size (5)`,
      ).toMatch(/\b2\b.*\b5\b/);
    });

    test("any cut of a run of messages gives the same messages (random cuts)", () => {
      assertProperty(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
          fc.array(fc.nat({ max: 300 }), { maxLength: 8 }),
          (messages, cuts) => {
            const stream = Buffer.concat(messages.map((m) => frameMessage(m)));
            const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
              (a, b) => a - b,
            );
            const chunks: Buffer[] = [];
            let from = 0;
            for (const at of [...points, stream.length]) {
              chunks.push(stream.subarray(from, at));
              from = at;
            }
            expect(
              deframe(chunks),
              `${DEFRAMER} Cut into chunks of ${chunks.map((c) => c.length).join(", ")} bytes.`,
            ).toEqual(messages.map((m) => `0 ${Buffer.from(m).toString("hex")}`));
          },
        ),
      );
    });
  });

  describe("grpc-message: UTF-8, then percent-encoded", () => {
    test.each(
      (
        [
          ["no user 999", "no user 999", "printable ASCII stays as it is, space included"],
          ["100%", "100%25", "'%' itself is encoded"],
          ["café", "caf%C3%A9", "each UTF-8 byte of é as %XX, hex digits in upper case"],
          ["two\nlines", "two%0Alines", "a control character is encoded"],
          ["~ and \u007f", "~ and %7F", "0x7E is the last byte left as is; DEL is encoded"],
          ["🙂", "%F0%9F%99%82", "four bytes for an emoji"],
        ] as const
      ).map(([text, encoded, why]) => [visible(text), encoded, why, text] as const),
    )("encodeGrpcMessage(%s) is %j: %s", (_shown, encoded, why, text) => {
      expect(
        encodeGrpcMessage(text),
        `${why}. grpc-message is the text's UTF-8 bytes, each outside 0x20-0x7E, and '%' ` +
          "itself, written as '%' and two upper-case hex digits (PROTOCOL-HTTP2.md, " +
          '"Percent-Encoded"); the rest as they are.',
      ).toBe(encoded);
    });

    test("decodeGrpcMessage reverses it, hex digits in either case", () => {
      expect(decodeGrpcMessage("caf%C3%A9 100%25")).toBe("café 100%");
      expect(decodeGrpcMessage("caf%c3%a9")).toBe("café");
    });

    test("a broken %-sequence is kept as it is, never an error (PROTOCOL-HTTP2.md)", () => {
      expect(decodeGrpcMessage("50%zz off %4")).toBe("50%zz off %4");
    });

    test("any text survives encode then decode, and its encoding is printable ASCII", () => {
      assertProperty(
        fc.property(fc.string({ unit: "grapheme" }), (text) => {
          const encoded = encodeGrpcMessage(text);
          expect(encoded, `encodeGrpcMessage(${visible(text)}): only 0x20-0x7E`).toMatch(
            /^[\x20-\x7e]*$/,
          );
          expect(
            visible(decodeGrpcMessage(encoded)),
            `encodeGrpcMessage(${visible(text)}) is ${JSON.stringify(encoded)}, and decodeGrpcMessage ` +
              "must give the text back: each %XX is one of the text's UTF-8 bytes (é is %C3%A9, " +
              "not %E9), and decoding collects the bytes first, then reads them as UTF-8 together",
          ).toBe(visible(text));
        }),
      );
    });
  });

  describe("grpc-timeout: 1 to 8 ASCII digits and a unit", () => {
    test.each([
      ["1S", 1_000],
      ["100m", 100],
      ["2M", 120_000],
      ["1H", 3_600_000],
      ["1500u", 1.5],
      ["2000000n", 2],
      ["99999999m", 99_999_999],
    ])("parseTimeout(%j) is %d ms", (value, ms) => {
      expect(parseTimeout(value)).toBe(ms);
    });

    test.each([
      ["", "nothing"],
      ["100", "no unit"],
      ["S", "no digits"],
      ["123456789m", "nine digits"],
      ["1s", "s is not a unit (S is)"],
      ["1 S", "a space"],
      ["-1S", "a sign"],
      ["1.5S", "a fraction"],
      ["10mm", "two units"],
    ])("parseTimeout(%j) throws GRPC_BAD_TIMEOUT: %s", (value, what) => {
      const rule =
        `grpc-timeout is 1 to 8 ASCII digits and one unit of H M S m u n (PROTOCOL-HTTP2.md, ` +
        `"Timeout"): ${JSON.stringify(value)} has ${what}, and parseTimeout throws GRPC_BAD_TIMEOUT`;
      expect(codeOf(refusal(() => parseTimeout(value), rule)), rule).toBe("GRPC_BAD_TIMEOUT");
    });
  });
});
