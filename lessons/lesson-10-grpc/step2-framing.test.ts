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
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(" ", ""), "hex");
/** GetUserRequest { id: "123" }: field 1, wire type 2 (0x0a), 3 bytes, "123". */
const REQUEST = hex("0a 03 31 32 33");

/** What a deframer gives, as hex, for a failure message and an exact comparison. */
function shown(messages: LengthPrefixedMessage[]): string[] {
  return messages.map((m) => `${m.compressed ? 1 : 0} ${Buffer.from(m.message).toString("hex")}`);
}

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
      expect(deframe([framed])).toEqual(["0 0a03313233"]);
    });

    test("two messages in one DATA frame are two messages", () => {
      const second = hex("00 00000002 0a00");
      expect(deframe([Buffer.concat([framed, second])])).toEqual(["0 0a03313233", "0 0a00"]);
    });

    test("a message fed one byte at a time comes out once, whole, after its last byte", () => {
      const deframer = new MessageDeframer();
      const seen: string[][] = [];
      for (const byte of framed) seen.push(shown(deframer.feed(Uint8Array.of(byte))));
      expect(seen.slice(0, -1).flat(), "nothing before the last byte").toEqual([]);
      expect(seen.at(-1)).toEqual(["0 0a03313233"]);
    });

    test("a prefix split after 2 bytes, and a message split mid-way, still make one message", () => {
      expect(deframe([framed.subarray(0, 2), framed.subarray(2, 7), framed.subarray(7)])).toEqual([
        "0 0a03313233",
      ]);
    });

    test("a DATA frame that ends one message and starts the next", () => {
      const two = Buffer.concat([framed, hex("00 00000002 0a00")]);
      const deframer = new MessageDeframer();
      expect(deframe([two.subarray(0, 12)], deframer)).toEqual(["0 0a03313233"]);
      expect(deframe([two.subarray(12)], deframer)).toEqual(["0 0a00"]);
    });

    test("an empty message (length 0) is a message, not 'need more bytes'", () => {
      expect(deframe([hex("00 00000000")])).toEqual(["0 "]);
    });

    test("the Compressed-Flag comes out with the message", () => {
      expect(deframe([hex("01 00000001 ff")])).toEqual(["1 ff"]);
    });

    test("a message larger than the limit is refused from its prefix: RESOURCE_EXHAUSTED", () => {
      const deframer = new MessageDeframer({ maxMessageBytes: 100 });
      const error = thrownBy(() => deframer.feed(hex("00 00000065")));
      expect(codeOf(error)).toBe("GRPC_MESSAGE_TOO_LARGE");
      expect((error as { status?: unknown }).status).toBe(Status.RESOURCE_EXHAUSTED);
    });

    test("a message of exactly the limit is taken", () => {
      const deframer = new MessageDeframer({ maxMessageBytes: 3 });
      expect(deframe([hex("00 00000003 616263")], deframer)).toEqual(["0 616263"]);
    });

    test("a Compressed-Flag other than 0 or 1 is an error", () => {
      expect(codeOf(thrownBy(() => new MessageDeframer().feed(hex("02 00000000"))))).toBe(
        "GRPC_BAD_COMPRESSED_FLAG",
      );
    });

    test("end() in the middle of a message or a prefix is a truncated message; at a boundary, fine", () => {
      const mid = new MessageDeframer();
      mid.feed(framed.subarray(0, 7));
      expect(codeOf(thrownBy(() => mid.end())), "ended 2 bytes into the message").toBe(
        "GRPC_TRUNCATED_MESSAGE",
      );
      const inPrefix = new MessageDeframer();
      inPrefix.feed(framed.subarray(0, 3));
      expect(codeOf(thrownBy(() => inPrefix.end())), "ended 3 bytes into the prefix").toBe(
        "GRPC_TRUNCATED_MESSAGE",
      );
      const whole = new MessageDeframer();
      whole.feed(framed);
      expect(() => whole.end()).not.toThrow();
    });

    test("any cut of a run of messages gives the same messages (random cuts)", () => {
      fc.assert(
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
            expect(deframe(chunks)).toEqual(
              messages.map((m) => `0 ${Buffer.from(m).toString("hex")}`),
            );
          },
        ),
      );
    });
  });

  describe("grpc-message: UTF-8, then percent-encoded", () => {
    test.each([
      ["no user 999", "no user 999", "printable ASCII stays as it is, space included"],
      ["100%", "100%25", "'%' itself is encoded"],
      ["café", "caf%C3%A9", "each UTF-8 byte of é as %XX"],
      ["two\nlines", "two%0Alines", "a control character is encoded"],
      ["~ and \u007f", "~ and %7F", "0x7E is the last byte left as is; DEL is encoded"],
      ["🙂", "%F0%9F%99%82", "four bytes for an emoji"],
    ])("encodeGrpcMessage(%j) is %j: %s", (text, encoded) => {
      expect(encodeGrpcMessage(text)).toBe(encoded);
    });

    test("decodeGrpcMessage reverses it, hex digits in either case", () => {
      expect(decodeGrpcMessage("caf%C3%A9 100%25")).toBe("café 100%");
      expect(decodeGrpcMessage("caf%c3%a9")).toBe("café");
    });

    test("a broken %-sequence is kept as it is, never an error (PROTOCOL-HTTP2.md)", () => {
      expect(decodeGrpcMessage("50%zz off %4")).toBe("50%zz off %4");
    });

    test("any text survives encode then decode, and its encoding is printable ASCII", () => {
      fc.assert(
        fc.property(fc.string({ unit: "grapheme" }), (text) => {
          const encoded = encodeGrpcMessage(text);
          expect(encoded).toMatch(/^[\x20-\x7e]*$/);
          expect(decodeGrpcMessage(encoded)).toBe(text);
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
    ])("parseTimeout(%j) throws GRPC_BAD_TIMEOUT: %s", (value) => {
      expect(codeOf(thrownBy(() => parseTimeout(value)))).toBe("GRPC_BAD_TIMEOUT");
    });
  });
});
