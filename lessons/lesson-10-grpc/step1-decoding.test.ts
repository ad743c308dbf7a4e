import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import {
  decodeMessage,
  decodeVarint,
  MAX_DEPTH,
  zigzagDecode,
  type FieldSpec,
  type MessageSpec,
  type ProtoMessage,
} from "#lesson/lesson-10-grpc/protobuf.ts";
import { UserSpec } from "#lesson/lesson-10-grpc/messages.ts";
import { codeOf, thrownBy } from "#shared/testing/errors.ts";
import { isNotWritten } from "#shared/testing/server-log.ts";
import {
  assertProperty,
  bytesOf,
  hex,
  loadProtos,
  normalize,
  records,
  referenceDecode,
  refusal,
  specOf,
  visible,
  type Protos,
} from "./protobuf-helpers.ts";

let protos: Protos;
let SampleSpec: MessageSpec;
beforeAll(async () => {
  protos = await loadProtos();
  SampleSpec = specOf(protos.Sample);
});

/** decodeMessage, or a failure that says the rule and shows the bytes record by record. */
function decoded(spec: MessageSpec, bytes: Uint8Array, rule: string): ProtoMessage {
  try {
    return decodeMessage(spec, bytes);
  } catch (error) {
    if (isNotWritten(error)) throw error;
    return expect.fail(
      `${rule}\n  decodeMessage(${spec.name}) threw ${codeOf(error)} on these bytes:\n${records(bytes)}`,
    );
  }
}

describe("Step 1: Protocol Buffers by hand", () => {
  describe("reading varints", () => {
    test.each([
      ["96 01", 150, 2],
      ["ac 02", 300, 2],
      ["ff ff ff ff 0f", 2 ** 32 - 1, 5],
      ["80 80 80 80 08", 2 ** 31, 5],
      ["ff ff ff ff ff ff ff ff ff 01", 2 ** 32 - 1, 10],
    ])("reads the varint %s as %d, %d bytes long", (pairs, value, length) => {
      const read = decodeVarint(bytesOf(`${pairs} 55`), 0);
      expect(
        read,
        "A varint's groups of 7 bits come least significant first; a byte under 0x80 is the last. " +
          "The value is kept to its low 32 bits, unsigned (every varint type here is 32 bits " +
          "wide), and `next` is the offset just past the varint.",
      ).toEqual({ value, next: length });
    });

    test("reads a varint at an offset", () => {
      expect(decodeVarint(bytesOf("ff 96 01"), 1)).toEqual({ value: 150, next: 3 });
    });

    test.each([
      [0, 0],
      [1, -1],
      [2, 1],
      [3, -2],
      [2 ** 32 - 2, 2 ** 31 - 1],
      [2 ** 32 - 1, -(2 ** 31)],
    ])("zigzag-decodes %d as %d", (value, decodedValue) => {
      expect(zigzagDecode(value), "ZigZag back: (n >>> 1) ^ -(n & 1)").toBe(decodedValue);
    });
  });

  describe("reading messages", () => {
    test("decodes the source's User from protobufjs's bytes", () => {
      const bytes = protos.User.encode({
        id: "123",
        name: "Ada Lovelace",
        email: "ada@example.com",
      }).finish();
      expect(decoded(UserSpec, bytes, "A User from protobufjs must decode.")).toEqual({
        id: "123",
        name: "Ada Lovelace",
        email: "ada@example.com",
      });
    });

    test("decodes a string's UTF-8 bytes", () => {
      const name = "Åsa Ørsted 🚀";
      const bytes = protos.User.encode({ id: "7", name }).finish();
      expect(decoded(UserSpec, bytes, "Strings are UTF-8 bytes.")).toEqual({
        id: "7",
        name,
        email: "",
      });
    });

    test("keeps a leading U+FEFF in a string: it is a character of the value, not a byte order mark", () => {
      const name = "\uFEFFAda";
      const bytes = protos.User.encode({ name }).finish();
      expect(hex(bytes), "the test's own bytes").toBe("12 06 ef bb bf 41 64 61");
      const received = decoded(UserSpec, bytes, "ef bb bf is U+FEFF in UTF-8.").name;
      expect(
        visible(received),
        "A string field's bytes are its value, all of them: TextDecoder drops a leading " +
          "ef bb bf (U+FEFF) as a byte order mark unless it is made with { ignoreBOM: true }, " +
          "and protobufjs keeps it.",
      ).toBe(visible(name));
    });

    test("gives every field that is not on the wire its default", () => {
      expect(
        decoded(UserSpec, new Uint8Array(0), "Empty input is a message with every field default."),
        'No record for a field means its default: "" for a string (proto3 "Default Values").',
      ).toEqual({ id: "", name: "", email: "" });
      const empty = decoded(SampleSpec, new Uint8Array(0), "Empty input is a valid Sample.");
      expect(
        normalize(SampleSpec, empty),
        'Every field of the spec is in the decoded message: 0, false, "", empty bytes, [] for a ' +
          "repeated field; a message field that was not sent stays undefined.",
      ).toEqual(referenceDecode(protos.Sample, SampleSpec, new Uint8Array(0)));
    });

    test("decodes every type as protobufjs encodes it", () => {
      const message = {
        int32Value: -5,
        uint32Value: 2 ** 32 - 1,
        sint32Value: -(2 ** 31),
        boolValue: true,
        color: 3,
        fixed32Value: 2 ** 32 - 1,
        sfixed32Value: -7,
        floatValue: 0.5,
        doubleValue: -Math.PI,
        stringValue: "π ≈ 3.14",
        bytesValue: Uint8Array.of(1, 2, 3),
        point: { x: -3, y: 4, label: "here" },
        int32List: [-1, 0, 1],
        uint32List: [2 ** 31],
        sint32List: [-2, 2],
        boolList: [true, false],
        colors: [1, 2],
        fixed32List: [7],
        sfixed32List: [-8],
        floatList: [1.25],
        doubleList: [1e300],
        stringList: ["x", "ÿ"],
        bytesList: [Uint8Array.of(9)],
        points: [{ x: 1 }, { label: "b" }],
      };
      const bytes = protos.Sample.encode(message).finish();
      expect(
        normalize(
          SampleSpec,
          decoded(SampleSpec, bytes, "Every type of sample.proto must decode."),
        ),
      ).toEqual(referenceDecode(protos.Sample, SampleSpec, bytes));
    });

    test("skips the fields it does not know, so an older client reads a newer server's User", () => {
      const newer = {
        id: "123",
        name: "Ada Lovelace",
        email: "ada@example.com",
        age: 36,
        score: 99.5,
        flags: 0xdeadbeef,
        home: { x: 1, y: 2, label: "London" },
        nicknames: ["Enchantress of Numbers", "Ada"],
        delta: -1,
      };
      const bytes = protos.UserV2.encode(newer).finish();
      expect(
        decoded(
          UserSpec,
          bytes,
          "A record whose field number the spec does not know is a newer sender's field: skip it by " +
            "its wire type (VARINT: a varint; I64: 8 bytes; LEN: its length; I32: 4 bytes) and go on. " +
            "That is what lets an old client read a new server's messages.",
        ),
        "The fields User knows keep their values; the others are left out.",
      ).toEqual({ id: "123", name: "Ada Lovelace", email: "ada@example.com" });
    });

    test("skips an unknown field that comes before the known ones", () => {
      // field 100 sint32 (a two-byte tag, a0 06), then field 1.
      expect(decoded(UserSpec, bytesOf("a0 06 01 0a 01 37"), "An unknown field first.")).toEqual({
        id: "7",
        name: "",
        email: "",
      });
    });

    test("reads a repeated numeric field sent packed, unpacked, or both", () => {
      // Field 16 as VARINT records (tag 80 01) and as one LEN record (tag 82 01).
      const bytes = bytesOf("80 01 01  80 01 02  82 01 02 03 04  80 01 05");
      expect(
        decoded(
          SampleSpec,
          bytes,
          'A parser must accept a repeated numeric field packed or not ("Packed Repeated ' +
            'Fields": a sender may have used either).',
        ).int32List,
        "Each record adds its values to the list, in order.",
      ).toEqual([1, 2, 3, 4, 5]);
      const fixed = bytesOf("ad 01 01 00 00 00  aa 01 04 02 00 00 00");
      expect(decoded(SampleSpec, fixed, "fixed32, unpacked then packed.").fixed32List).toEqual([
        1, 2,
      ]);
    });

    test("keeps the last value of a field sent twice, and adds up a repeated one", () => {
      const twice = decoded(
        SampleSpec,
        bytesOf("08 01  52 01 61  08 02  52 01 62  ca 01 01 61  ca 01 01 62"),
        "A field may be sent twice.",
      );
      expect(
        [twice.int32Value, twice.stringValue],
        'A non-repeated field sent twice keeps the LAST value ("Last One Wins").',
      ).toEqual([2, "b"]);
      expect(twice.stringList, "A repeated field's records add up.").toEqual(["a", "b"]);
    });

    test("merges an embedded message sent twice", () => {
      // point {x: 1, label: "a"}, then point {y: 2, label: "b"}.
      const bytes = bytesOf("62 05 08 02 1a 01 61  62 05 10 04 1a 01 62");
      expect(
        decoded(SampleSpec, bytes, "A message field may be sent twice.").point,
        'An embedded message sent twice is merged ("Last One Wins"): the second one\'s fields are ' +
          "set on the first, whose other fields stay.",
      ).toEqual({ x: 1, y: 2, label: "b" });
    });

    test("reads bytes into a copy of its own", () => {
      const input = bytesOf("5a 02 01 02");
      const message = decoded(SampleSpec, input, "bytes field.");
      input[2] = 0xff;
      expect(
        Array.from(message.bytesValue as Uint8Array),
        "A bytes value must not change when the buffer it was read from is reused.",
      ).toEqual([1, 2]);
    });
  });

  describe("bad input", () => {
    test.each([
      ["08", "PROTOBUF_TRUNCATED", "a tag with no value after it"],
      ["08 96", "PROTOBUF_TRUNCATED", "a varint cut short"],
      ["80", "PROTOBUF_TRUNCATED", "a tag cut short"],
      ["35 01 00", "PROTOBUF_TRUNCATED", "a fixed32 of 2 bytes"],
      ["49 00 00 00 00", "PROTOBUF_TRUNCATED", "a double of 4 bytes"],
      ["aa 01 03 01 00 00", "PROTOBUF_TRUNCATED", "a packed fixed32 list of 3 bytes"],
      ["08 ff ff ff ff ff ff ff ff ff ff 01", "PROTOBUF_VARINT_TOO_LONG", "an 11-byte varint"],
      ["52 05 61", "PROTOBUF_LENGTH_PAST_END", "a string of length 5 with 1 byte"],
      ["52 ff ff ff ff 0f", "PROTOBUF_LENGTH_PAST_END", "a string of length 2^32 - 1"],
      ["62 04 08 02 1a 05 61", "PROTOBUF_LENGTH_PAST_END", "a string past its message's end"],
      ["82 01 09 01", "PROTOBUF_LENGTH_PAST_END", "a packed list past the end"],
      ["fa 01 09", "PROTOBUF_LENGTH_PAST_END", "an unknown LEN field past the end"],
      ["0a 01 01", "PROTOBUF_WIRE_TYPE_MISMATCH", "an int32 sent as LEN"],
      ["52 01 61 50 01", "PROTOBUF_WIRE_TYPE_MISMATCH", "a string sent as VARINT"],
      ["41 00 00 00 00 00 00 00 00", "PROTOBUF_WIRE_TYPE_MISMATCH", "a float sent as I64"],
      ["00 01", "PROTOBUF_BAD_FIELD_NUMBER", "field number 0"],
      ["f3 01 00", "PROTOBUF_BAD_WIRE_TYPE", "wire type 3 (a proto2 group) on an unknown field"],
      ["fe 01 00", "PROTOBUF_BAD_WIRE_TYPE", "wire type 6 on an unknown field"],
      ["52 02 c3 28", "PROTOBUF_BAD_UTF8", "a string whose bytes are not UTF-8"],
      ["52 01 80", "PROTOBUF_BAD_UTF8", "a string of the one byte 0x80, a continuation byte"],
      ["62 02 08 80 08 01", "PROTOBUF_TRUNCATED", "a varint cut short at its message's end"],
    ])("refuses %s with %s: %s", (pairs, code, what) => {
      const rule =
        `${what}: decodeMessage(Sample) must throw a ProtobufError with code ${code}, for these ` +
        `bytes:\n${records(bytesOf(pairs))}` +
        (code === "PROTOBUF_LENGTH_PAST_END"
          ? "\n  A LEN record's length is checked against the bytes left, in the input and in " +
            "the message the record is in, before anything is read; subarray() past the end " +
            "quietly gives fewer bytes."
          : "");
      const error = refusal(() => decodeMessage(SampleSpec, bytesOf(pairs)), rule);
      expect(codeOf(error), rule).toBe(code);
    });

    test("the error says at which byte of the input it happened", () => {
      // A 3-byte string record, then a tag at byte 5 whose value is missing.
      const error = refusal(
        () => decodeMessage(SampleSpec, bytesOf("52 03 61 62 63 08")),
        "a tag with no value after it must throw",
      ) as Error & { offset?: unknown };
      expect(error.offset, "the ProtobufError's offset: where the cut varint starts").toBe(6);
      expect(error.message, "the message names the offset too, for a person reading it").toMatch(
        /\b6\b/,
      );
    });

    test("reads field number 2^29 - 1, whose tag is 2^31 or more", () => {
      const spec: MessageSpec = {
        name: "Far",
        fields: [{ name: "a", number: 2 ** 29 - 1, type: "string" }],
      };
      expect(
        decoded(spec, bytesOf("fa ff ff ff 0f 01 61"), "The largest field number, as a string.").a,
        "The tag fa ff ff ff 0f is 2^32 - 6: field (tag >>> 3) = 2^29 - 1, wire type (tag & 7) " +
          "= 2. `tag >> 3` is a 32-bit signed shift, and makes the field number negative.",
      ).toBe("a");
    });

    test(`reads ${MAX_DEPTH} levels of nested messages and refuses one more`, () => {
      const fields: FieldSpec[] = [];
      const Tree: MessageSpec = { name: "Tree", fields };
      fields.push({ name: "child", number: 1, type: "message", message: Tree });
      // `0a 00` is the innermost child; each level around it adds a tag and a length (two bytes
      // from 128 on).
      const wrap = (inner: number[]): number[] =>
        inner.length < 0x80
          ? [0x0a, inner.length, ...inner]
          : [0x0a, (inner.length % 0x80) | 0x80, Math.floor(inner.length / 0x80), ...inner];
      let bytes = [0x0a, 0x00];
      for (let level = 1; level < MAX_DEPTH; level++) bytes = wrap(bytes);
      decoded(
        Tree,
        Uint8Array.from(bytes),
        `A message with ${MAX_DEPTH} levels of messages inside it is within MAX_DEPTH. ` +
          `"Deeper than MAX_DEPTH" is more than ${MAX_DEPTH} levels below the top message, not ` +
          `${MAX_DEPTH} or more.`,
      );
      const deeper = Uint8Array.from(wrap(bytes));
      const rule =
        `A message with ${MAX_DEPTH + 1} levels of messages inside it is deeper than MAX_DEPTH: ` +
        "decodeMessage must throw PROTOBUF_TOO_DEEP";
      expect(codeOf(refusal(() => decodeMessage(Tree, deeper), rule)), rule).toBe(
        "PROTOBUF_TOO_DEEP",
      );
    });

    test("refuses messages nested deeper than it can follow, without running out of stack", () => {
      const fields: FieldSpec[] = [];
      const Tree: MessageSpec = { name: "Tree", fields };
      fields.push({ name: "child", number: 1, type: "message", message: Tree });
      // 100,000 levels of `child { child { ... } }`, written from the inside out.
      const levels = 100_000;
      const out = new Uint8Array(levels * 5);
      let start = out.length;
      for (let i = 0; i < levels; i++) {
        let length = out.length - start;
        const varint: number[] = [];
        do {
          varint.push((length & 0x7f) | (length >= 0x80 ? 0x80 : 0));
          length >>>= 7;
        } while (length > 0);
        start -= varint.length;
        out.set(varint, start);
        out[--start] = 0x0a;
      }
      const error = thrownBy(() => decodeMessage(Tree, out.subarray(start)));
      expect(
        codeOf(error),
        "Each embedded message is a level of recursion: 100,000 of them overflow the stack " +
          "(RangeError). Cap the depth, as protobuf's parsers do (100), with PROTOBUF_TOO_DEEP.",
      ).toBe("PROTOBUF_TOO_DEEP");
      expect(hex(out.subarray(start, start + 2))).toMatch(/^0a /);
    });

    test("answers any bytes with a message or a ProtobufError, never another error", () => {
      assertProperty(
        fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
          for (const spec of [SampleSpec, UserSpec]) {
            try {
              decodeMessage(spec, bytes);
            } catch (error) {
              if (isNotWritten(error)) throw error;
              const code = codeOf(error);
              if (!code.startsWith("PROTOBUF_")) {
                expect.fail(
                  `decodeMessage(${spec.name}) threw ${code}, not a ProtobufError, on:\n` +
                    `    ${hex(bytes)}\nCheck each length against the bytes left before reading ` +
                    "(a DataView read past the end throws a RangeError).",
                );
              }
            }
          }
        }),
        { numRuns: 2_000 },
      );
    });
  });
});
