import { beforeAll, describe, expect, test } from "vitest";
import {
  encodeMessage,
  encodeVarint,
  MAX_DEPTH,
  zigzagEncode,
  type FieldSpec,
  type MessageSpec,
  type ProtoMessage,
} from "#lesson/lesson-10-grpc/protobuf.ts";
import { UserSpec } from "#lesson/lesson-10-grpc/messages.ts";
import { codeOf, thrownBy } from "#shared/testing/errors.ts";
import {
  bytesDiffer,
  bytesOf,
  hex,
  loadProtos,
  reference,
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

/** Checks the learner's bytes for a Sample against protobufjs's and, when given, the bytes written out. */
function expectSample(message: ProtoMessage, rule: string, written?: string): void {
  const expected = reference(protos.Sample, SampleSpec, message);
  if (written !== undefined)
    expect(hex(expected), "the test's own bytes").toBe(hex(bytesOf(written)));
  const received = encodeMessage(SampleSpec, message);
  if (hex(received) !== hex(expected)) {
    expect.fail(bytesDiffer(`${rule}\n  the message: ${visible(message)}`, expected, received));
  }
}

describe("Step 1: Protocol Buffers by hand", () => {
  describe("varints", () => {
    test.each([
      [0, "00"],
      [1, "01"],
      [127, "7f"],
      [128, "80 01"],
      [150, "96 01"],
      [300, "ac 02"],
      [16_384, "80 80 01"],
      [2 ** 31 - 1, "ff ff ff ff 07"],
      [2 ** 31, "80 80 80 80 08"],
      [2 ** 32 - 1, "ff ff ff ff 0f"],
      [2 ** 53 - 1, "ff ff ff ff ff ff ff 0f"],
    ])("writes %d as the varint %s", (value, bytes) => {
      const received = hex(encodeVarint(value));
      expect(
        received,
        `A varint is the value in groups of 7 bits, the least significant group first, each in a ` +
          `byte whose top bit (0x80) says another byte follows ("Base 128 Varints"): 150 is 96 01.` +
          (value >= 2 ** 31
            ? ` ${value} is 2^31 or more: JavaScript's >> and << work on 32-bit signed integers, ` +
              "so they cannot take it apart; divide by 128 instead (or use >>> below 2^32)."
            : ""),
      ).toBe(bytes);
    });

    test("writes a negative number as ten bytes, its 64-bit two's complement", () => {
      expect(
        hex(encodeVarint(-1)),
        "int32 sends a negative number sign-extended to 64 bits, so every negative int32 is ten " +
          'bytes on the wire, never five ("Signed Integers"): -1 is ff ff ff ff ff ff ff ff ff 01',
      ).toBe("ff ff ff ff ff ff ff ff ff 01");
      expect(hex(encodeVarint(-(2 ** 31)))).toBe("80 80 80 80 f8 ff ff ff ff 01");
    });

    test("writes a negative int32 field in ten bytes, as protobufjs does", () => {
      expectSample(
        { int32Value: -2 },
        "A negative int32 is ten bytes: its 64-bit two's complement as a varint (sint32 is the type " +
          "for negative numbers).",
        "08 fe ff ff ff ff ff ff ff ff 01",
      );
      expectSample({ int32Value: -(2 ** 31) }, "The smallest int32, in ten bytes.");
    });

    test("writes a uint32 of 2^31 and more in five bytes", () => {
      expectSample(
        { uint32Value: 2 ** 32 - 1 },
        "A uint32 goes up to 2^32 - 1, a five-byte varint: a `>>` on it sees a negative number.",
        "10 ff ff ff ff 0f",
      );
      expectSample({ uint32Value: 2 ** 31 }, "2^31 as a uint32 varint.", "10 80 80 80 80 08");
    });

    test.each([
      [0, 0],
      [-1, 1],
      [1, 2],
      [-2, 3],
      [2, 4],
      [2 ** 31 - 1, 2 ** 32 - 2],
      [-(2 ** 31), 2 ** 32 - 1],
    ])("zigzag-encodes %d as %d", (value, encoded) => {
      expect(
        zigzagEncode(value),
        "ZigZag maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2, 2 become " +
          "0, 1, 2, 3, 4, the sign in the lowest bit: (n << 1) ^ (n >> 31), read as unsigned. " +
          "Math.abs loses which of -n and n it was.",
      ).toBe(encoded);
    });

    test("writes a sint32 field zigzag-encoded", () => {
      expectSample({ sint32Value: -1 }, "sint32 -1 is zigzag 1: one byte.", "18 01");
      expectSample({ sint32Value: -64 }, "sint32 -64 is zigzag 127.", "18 7f");
      expectSample({ sint32Value: 64 }, "sint32 64 is zigzag 128.", "18 80 01");
      expectSample({ sint32Value: -(2 ** 31) }, "The smallest sint32 is zigzag 2^32 - 1.");
    });

    test("writes a bool and an enum as varints", () => {
      expectSample({ boolValue: true }, "A bool is the varint 1.", "20 01");
      expectSample({ color: 2 }, "An enum is its number, as an int32 varint.", "28 02");
    });
  });

  describe("fixed-width fields", () => {
    test("writes fixed32 and sfixed32 in four bytes, little-endian (I32)", () => {
      expectSample(
        { fixed32Value: 0x01020304 },
        "fixed32 is four bytes, least significant first (little-endian), after a tag of wire type " +
          '5, I32 ("Non-varint Numbers").',
        "35 04 03 02 01",
      );
      expectSample(
        { sfixed32Value: -2 },
        "sfixed32 is the int32 in four little-endian bytes, two's complement.",
        "3d fe ff ff ff",
      );
    });

    test("writes a float in four bytes (I32) and a double in eight (I64)", () => {
      expectSample(
        { floatValue: 1.5 },
        "A float is IEEE 754 single precision, four little-endian bytes, wire type 5 (I32): not a " +
          "double.",
        "45 00 00 c0 3f",
      );
      expectSample(
        { doubleValue: 1.5 },
        "A double is IEEE 754 double precision, eight little-endian bytes, wire type 1 (I64).",
        "49 00 00 00 00 00 00 f8 3f",
      );
      expectSample({ floatValue: -0.25, doubleValue: Math.PI }, "A float and a double.");
    });
  });

  describe("length-delimited fields", () => {
    test("encodes the source's User as protobufjs does, byte for byte", () => {
      const ada = { id: "123", name: "Ada Lovelace", email: "ada@example.com" };
      const expected = reference(protos.User, UserSpec, ada);
      expect(hex(expected)).toBe(
        hex(
          bytesOf(
            "0a 03 31 32 33  12 0c 41 64 61 20 4c 6f 76 65 6c 61 63 65" +
              "  1a 0f 61 64 61 40 65 78 61 6d 70 6c 65 2e 63 6f 6d",
          ),
        ),
      );
      const received = encodeMessage(UserSpec, ada);
      if (hex(received) !== hex(expected)) {
        expect.fail(
          bytesDiffer(
            "Each string is a LEN record: its tag (field_number * 8 + 2), its length in bytes as " +
              "a varint, then its UTF-8 bytes; fields in the .proto's order.",
            expected,
            received,
          ),
        );
      }
    });

    test("writes a string's length in UTF-8 bytes, not in JavaScript characters", () => {
      const user = { id: "7", name: "Åsa Ørsted 🚀", email: "åsa@exämple.org" };
      const expected = reference(protos.User, UserSpec, user);
      const received = encodeMessage(UserSpec, user);
      if (hex(received) !== hex(expected)) {
        expect.fail(
          bytesDiffer(
            `A LEN record's length counts the UTF-8 bytes that follow: "Å" is 2 bytes, "🚀" is 4, ` +
              `where string.length counts UTF-16 units (1 and 2). "${user.name}" is ` +
              `${Buffer.byteLength(user.name)} bytes, and its .length is ${user.name.length}.`,
            expected,
            received,
          ),
        );
      }
    });

    test("writes bytes and an embedded message as LEN records", () => {
      expectSample(
        { bytesValue: Uint8Array.of(0, 0xff, 0x0a) },
        "bytes is a LEN record of the bytes as they are.",
        "5a 03 00 ff 0a",
      );
      expectSample(
        { point: { x: -1, y: 2, label: "a" } },
        "An embedded message is a LEN record holding the message's own bytes (\"Embedded " +
          'Messages"): Point{x: -1, y: 2, label: "a"} is 08 01 10 04 1a 01 61, 7 bytes.',
        "62 07 08 01 10 04 1a 01 61",
      );
    });

    test("writes a length of 128 bytes or more as a varint of two bytes or more", () => {
      expectSample(
        { stringValue: "x".repeat(300) },
        "A length is a varint like any other: 300 is ac 02.",
      );
      expectSample(
        { point: { label: "é".repeat(100) }, int32List: Array.from({ length: 100 }, () => 300) },
        "An embedded message of 203 bytes and a packed list of 200: each length is two bytes.",
      );
      expectSample(
        { points: [{ label: "y".repeat(20_000) }] },
        "An embedded message of 20,003 bytes: its length is three bytes.",
      );
    });

    test("writes an embedded message that is there even when all its fields are defaults", () => {
      expectSample(
        { point: {} },
        "A message field that is set is written, even empty (a LEN record of length 0): its " +
          "presence is what it says.",
        "62 00",
      );
    });
  });

  describe("proto3 defaults", () => {
    test("leaves every field with its default off the wire", () => {
      const allDefaults = {
        int32Value: 0,
        uint32Value: 0,
        sint32Value: 0,
        boolValue: false,
        color: 0,
        fixed32Value: 0,
        sfixed32Value: 0,
        floatValue: 0,
        doubleValue: 0,
        stringValue: "",
        bytesValue: new Uint8Array(0),
        int32List: [],
        stringList: [],
        points: [],
      };
      const received = encodeMessage(SampleSpec, allDefaults);
      if (received.length !== 0) {
        expect.fail(
          bytesDiffer(
            'proto3 leaves a field with its default off the wire ("Default Values": 0, "", ' +
              "false, empty bytes, an empty list): a receiver that finds no record reads the " +
              "default anyway, so the record would be bytes for nothing.",
            new Uint8Array(0),
            received,
          ),
        );
      }
      expectSample(
        { id: "", stringValue: "x", int32Value: 0, boolValue: false, uint32Value: 1 },
        "Only the fields that differ from their defaults are written.",
        "10 01 52 01 78",
      );
      expect(hex(encodeMessage(UserSpec, { id: "", name: "", email: "" }))).toBe("");
    });

    test("writes -0 in a float or a double: its sign bit makes it other than the default", () => {
      expectSample(
        { floatValue: -0, doubleValue: -0 },
        "-0 is not 0 on the wire: IEEE 754 gives it a sign bit (80 as the last byte), and " +
          "protobuf's own implementations write it. `value === 0` is true for -0 too; " +
          "Object.is(value, 0) tells them apart.",
        "45 00 00 00 80 49 00 00 00 00 00 00 00 80",
      );
    });
  });

  describe("repeated fields", () => {
    test("packs a repeated numeric field into one LEN record", () => {
      expectSample(
        { int32List: [1, 2, 300] },
        'proto3 packs a repeated numeric field ("Packed Repeated Fields"): ONE record of wire ' +
          "type LEN, holding the values one after another, not a record for each value. Field " +
          "16 and up need a two-byte tag: 16 * 8 + 2 is 130, the varint 82 01.",
        "82 01 04 01 02 ac 02",
      );
      expectSample({ sint32List: [-1, 1] }, "Packed sint32: zigzag varints.", "92 01 02 01 02");
      expectSample(
        { fixed32List: [1, 2] },
        "Packed fixed32: four bytes each, the length is 8.",
        "aa 01 08 01 00 00 00 02 00 00 00",
      );
      expectSample({ boolList: [true, false, true] }, "Packed bools.", "9a 01 03 01 00 01");
      expectSample(
        {
          uint32List: [0, 2 ** 32 - 1],
          colors: [1, 3],
          sfixed32List: [-1],
          floatList: [0.5, -2],
          doubleList: [0.1],
          int32List: [-1],
        },
        "Every repeated numeric type is packed.",
      );
    });

    test("writes each element of a repeated string, bytes or message field as a record of its own", () => {
      expectSample(
        { stringList: ["a", "", "b"] },
        "A repeated string is not packed: each element is a LEN record with its own tag, an " +
          "empty string too (it is an element).",
        "ca 01 01 61 ca 01 00 ca 01 01 62",
      );
      expectSample(
        { bytesList: [Uint8Array.of(1)], points: [{ x: 1 }, {}] },
        "Repeated bytes and messages: a record each.",
        "d2 01 01 01 da 01 02 08 02 da 01 00",
      );
    });
  });

  describe("specs and messages it cannot write", () => {
    test("refuses a spec with field number 0 or one past 2^29 - 1", () => {
      for (const number of [0, 2 ** 29]) {
        const spec: MessageSpec = { name: "Bad", fields: [{ name: "a", number, type: "int32" }] };
        expect(
          codeOf(thrownBy(() => encodeMessage(spec, { a: 1 }))),
          `Field numbers go from 1 to 2^29 - 1 (the tag keeps 3 of its 32 bits for the wire ` +
            `type): field ${number} is PROTOBUF_BAD_FIELD_NUMBER`,
        ).toBe("PROTOBUF_BAD_FIELD_NUMBER");
      }
    });

    test.each([
      ["2^28", 2 ** 28, "int32", 1, "80 80 80 80 08 01"],
      ["2^29 - 1", 2 ** 29 - 1, "string", "a", "fa ff ff ff 0f 01 61"],
    ] as const)(
      "writes field number %s, whose tag is 2^31 or more",
      (_name, number, type, value, bytes) => {
        const spec: MessageSpec = { name: "Far", fields: [{ name: "a", number, type }] };
        expect(
          hex(encodeMessage(spec, { a: value })),
          `The tag is field_number * 8 + wire_type: for field ${number} that is 2^31 or more, and ` +
            "`field_number << 3` overflows JavaScript's 32-bit signed shift into a negative " +
            "number (ten bytes on the wire). Multiply by 8 instead.",
        ).toBe(bytes);
      },
    );

    test(`takes ${MAX_DEPTH} levels of nested messages and refuses one more`, () => {
      const fields: FieldSpec[] = [];
      const Tree: MessageSpec = { name: "Tree", fields };
      fields.push({ name: "child", number: 1, type: "message", message: Tree });
      let tree: ProtoMessage = {};
      for (let i = 0; i < MAX_DEPTH; i++) tree = { child: tree };
      try {
        encodeMessage(Tree, tree);
      } catch (error) {
        expect.fail(
          `A message with ${MAX_DEPTH} levels of messages inside it is within MAX_DEPTH: ` +
            `encodeMessage threw ${codeOf(error)}. "Deeper than MAX_DEPTH" is more than ` +
            `${MAX_DEPTH} levels below the top message, not ${MAX_DEPTH} or more.`,
        );
      }
      expect(
        codeOf(
          refusal(
            () => encodeMessage(Tree, { child: tree }),
            `A message with ${MAX_DEPTH + 1} levels of messages inside it is deeper than ` +
              "MAX_DEPTH: encodeMessage must throw PROTOBUF_TOO_DEEP",
          ),
        ),
      ).toBe("PROTOBUF_TOO_DEEP");
    });

    test("refuses a message nested deeper than MAX_DEPTH", () => {
      const fields: FieldSpec[] = [];
      const Tree: MessageSpec = { name: "Tree", fields };
      fields.push({ name: "child", number: 1, type: "message", message: Tree });
      let tree: ProtoMessage = {};
      for (let i = 0; i < 100_000; i++) tree = { child: tree };
      expect(
        codeOf(thrownBy(() => encodeMessage(Tree, tree))),
        "Writing 100,000 nested messages overflows the stack: stop past MAX_DEPTH levels with " +
          "PROTOBUF_TOO_DEEP, as decodeMessage does",
      ).toBe("PROTOBUF_TOO_DEEP");
    });
  });

  describe("lengths at the edge of one varint byte", () => {
    test("a string of 128 ASCII characters has a 2-byte length, 80 01", () => {
      expectSample(
        { stringValue: "a".repeat(128) },
        "A length of 128 does not fit in 7 bits: its varint is 80 01, even for a string whose " +
          "characters are all one byte",
      );
    });

    test("a packed list of 128 bytes has a 2-byte length, 80 01", () => {
      expectSample(
        { int32List: Array.from({ length: 128 }, () => 1) },
        "128 one-byte values are a LEN record of 128 bytes: its length varint is 80 01",
      );
    });
  });

  describe("a null value, and specs that cannot be written", () => {
    test("a field whose value is null is left out, as an absent one", () => {
      const message = { stringValue: null } as unknown as ProtoMessage;
      expect(
        hex(encodeMessage(SampleSpec, message)),
        "null is JSON's absent value: no record for it",
      ).toBe("");
    });

    test.each<[string, MessageSpec]>([
      [
        "a message field whose spec names no message type",
        {
          name: "Bad",
          fields: [{ name: "m", number: 1, type: "message" }],
        },
      ],
      [
        "a field of a type the codec does not know (int64)",
        {
          name: "Bad",
          fields: [{ name: "m", number: 1, type: "int64" as FieldSpec["type"] }],
        },
      ],
    ])("refuses %s with PROTOBUF_BAD_VALUE", (_what, spec) => {
      const error = thrownBy(() => encodeMessage(spec, { m: 5 }));
      expect(
        codeOf(error),
        `encodeMessage(${JSON.stringify(spec)}, { m: 5 }) cannot know how to write m: PROTOBUF_BAD_VALUE`,
      ).toBe("PROTOBUF_BAD_VALUE");
      expect(
        (error as Error).message,
        "an encoding error has no input offset: its message shows none",
      ).not.toContain("undefined");
    });
  });

  describe("values a field cannot hold", () => {
    test.each<[string, ProtoMessage]>([
      ["a string in an int32", { int32Value: "12" }],
      ["a fraction in an int32", { int32Value: 1.5 }],
      ["2^31 in an int32", { int32Value: 2 ** 31 }],
      ["a negative uint32", { uint32Value: -1 }],
      ["2^32 in a uint32", { uint32Value: 2 ** 32 }],
      ["2^32 in a fixed32", { fixed32Value: 2 ** 32 }],
      ["a number in a string", { stringValue: 12 }],
      ["a string in a bool", { boolValue: "true" }],
      ["a number in a repeated field", { int32List: 1 }],
      ["2^31 in an sint32", { sint32Value: 2 ** 31 }],
      ["2^31 in an sfixed32", { sfixed32Value: 2 ** 31 }],
      ["a string in a float", { floatValue: "1" }],
      ["a string in a bytes field", { bytesValue: "ab" }],
      ["a string in a message field", { point: "x" }],
      ["a list in a message field", { point: [] }],
      ["bytes in a message field", { point: new Uint8Array([8, 1]) }],
    ])("refuses %s with PROTOBUF_BAD_VALUE", (_what, message) => {
      expect(
        codeOf(thrownBy(() => encodeMessage(SampleSpec, message))),
        `encodeMessage(Sample, ${JSON.stringify(message)}) must refuse the value with a ` +
          "ProtobufError whose code is PROTOBUF_BAD_VALUE, rather than write bytes no decoder " +
          "reads back as the value given",
      ).toBe("PROTOBUF_BAD_VALUE");
    });
  });
});
