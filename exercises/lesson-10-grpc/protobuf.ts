/**
 * Protocol Buffers (proto3) by hand: a codec driven by a description of each message, as
 * protobufjs's reflection is, with no generated code. The format is the one the encoding guide
 * describes (https://protobuf.dev/programming-guides/encoding/): a message is a run of records,
 * each a tag and a value, and nothing else: no names, no count, no end marker.
 *
 *   record   = tag value
 *   tag      = varint(field_number * 8 + wire_type)
 *   VARINT 0   int32 uint32 sint32 bool enum      a varint
 *   I64    1   double                            8 bytes, little-endian
 *   LEN    2   string bytes messages, packed     a varint length, then that many bytes
 *   I32    5   fixed32 sfixed32 float            4 bytes, little-endian
 *
 *   User { id: "1", name: "Ada" }   0a 01 31   12 03 41 64 61
 *                                   \ id=1 /   \ name=2 ... /
 */

import { todo } from "#shared/todo.ts";

export type ScalarType =
  | "int32"
  | "uint32"
  | "sint32"
  | "bool"
  | "enum"
  | "fixed32"
  | "sfixed32"
  | "float"
  | "double"
  | "string"
  | "bytes";

export interface FieldSpec {
  /** The JS property name, camelCase as protobufjs and proto-loader give it. */
  name: string;
  number: number;
  type: ScalarType | "message";
  /** A repeated field; numeric scalars are packed (proto3's default). */
  repeated?: boolean;
  /** The field's message type, for type "message". */
  message?: MessageSpec;
}

export interface MessageSpec {
  name: string;
  fields: readonly FieldSpec[];
}

export type ProtoValue = number | boolean | string | Uint8Array | ProtoMessage | ProtoValue[];

export interface ProtoMessage {
  [field: string]: ProtoValue | undefined;
}

/** The wire types proto3 uses ("Message Structure" in the encoding guide). 3 and 4 are proto2's groups. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

export type ProtobufErrorCode =
  /** The input ends inside a tag, a varint or a fixed-width value. */
  | "PROTOBUF_TRUNCATED"
  /** A varint whose tenth byte still has its continuation bit set: no 64-bit value is that long. */
  | "PROTOBUF_VARINT_TOO_LONG"
  /** A LEN record's length goes past the end of the input (or of the message it is in). */
  | "PROTOBUF_LENGTH_PAST_END"
  /** A known field arrived with a wire type its type never has (a string as a varint). */
  | "PROTOBUF_WIRE_TYPE_MISMATCH"
  /** Wire type 3, 4 (proto2's groups), 6 or 7: none proto3 can skip. */
  | "PROTOBUF_BAD_WIRE_TYPE"
  /** Field number 0, or one past 2^29 - 1: "Field numbers" in the language guide. */
  | "PROTOBUF_BAD_FIELD_NUMBER"
  /** A string field whose bytes are not UTF-8. */
  | "PROTOBUF_BAD_UTF8"
  /** Messages nested deeper than MAX_DEPTH. */
  | "PROTOBUF_TOO_DEEP"
  /** encodeMessage was given a value its field's type cannot hold (a string for an int32, 2^32 for a uint32). */
  | "PROTOBUF_BAD_VALUE";

/** What the codec refuses; `offset` is where in the input it happened (decoding only). */
export class ProtobufError extends Error {
  readonly code: ProtobufErrorCode;
  readonly offset: number | undefined;
  constructor(code: ProtobufErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = "ProtobufError";
    this.code = code;
    this.offset = offset;
  }
}

/** How deep messages may nest, as protobuf's own parsers limit it (their default is 100). */
export const MAX_DEPTH = 100;

// ---------------------------------------------------------------------------------------------
// Varints and zigzag
// ---------------------------------------------------------------------------------------------

/**
 * A varint ("Base 128 Varints"): the value in groups of 7 bits, least significant group first,
 * each group in a byte whose top bit says "more follows". 150 is `96 01`. `value` is a whole
 * number from -2^53 to 2^53; a negative one is written as its 64-bit two's complement, ten bytes,
 * which is how int32 sends a negative number.
 */
export function encodeVarint(value: number): Uint8Array {
  // TODO: Write the value 7 bits at a time, least significant first, setting the top bit (0x80)
  // of every byte but the last (the encoding guide, "Base 128 Varints"). Values go up to 2^53, past
  // what JavaScript's 32-bit shift operators hold. A negative value is sign-extended to 64 bits
  // ("Signed Integers": int32 -1 is ten bytes, ff ff ff ff ff ff ff ff ff 01).
  return todo("lesson-10-grpc", "encodeVarint()", "Step 1");
}

/**
 * Reads the varint at `offset`: its value's low 32 bits, unsigned (every varint type of this codec
 * is 32 bits wide; a longer value, from an int64 this codec does not know, is cut as a C++ cast
 * would cut it), and the offset just after it.
 */
export function decodeVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  // TODO: Read bytes until one has its top bit clear ("Base 128 Varints"), adding each 7-bit group
  // in its place. A varint is at most ten bytes (64 bits): an eleventh is PROTOBUF_VARINT_TOO_LONG;
  // input that ends first is PROTOBUF_TRUNCATED.
  return todo("lesson-10-grpc", "decodeVarint()", "Step 1");
}

/**
 * ZigZag ("Signed Integers"): maps signed to unsigned so that small magnitudes stay small,
 * 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3: `(n << 1) ^ (n >> 31)`, the sign moved to the lowest bit.
 */
export function zigzagEncode(value: number): number {
  // TODO: The encoding guide's "Signed Integers" gives the formula for sint32; the result is
  // unsigned, 0 to 2^32 - 1.
  return todo("lesson-10-grpc", "zigzagEncode()", "Step 1");
}

/** ZigZag back: `(n >>> 1) ^ -(n & 1)`. */
export function zigzagDecode(value: number): number {
  // TODO: The inverse of zigzagEncode, for values 0 to 2^32 - 1.
  return todo("lesson-10-grpc", "zigzagDecode()", "Step 1");
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * The message's bytes: its fields in the spec's order (the order of the .proto, which is what
 * protobufjs writes), each left out when it has its default (proto3's "Default Values": 0, "",
 * false, empty bytes, an empty list, an absent message). Properties the spec does not name are
 * ignored.
 */
export function encodeMessage(spec: MessageSpec, message: ProtoMessage): Uint8Array {
  // TODO: For each field of the spec that the message sets to something other than its default,
  // write a record: the tag, varint(field_number * 8 + wire_type) ("Message Structure"), then the
  // value in its wire type's form: a varint (int32 sign-extended, sint32 zigzagged, bool, enum);
  // four or eight little-endian bytes ("Non-varint Numbers"); or a length in bytes and the bytes
  // ("Length-Delimited Records": a string's UTF-8, bytes as they are, an embedded message's own
  // encoding). -0 is not a float's or double's default. A repeated numeric field is one LEN record
  // of all its values ("Packed Repeated Fields"); a repeated string, bytes or message field is a
  // record per element ("Repeated Elements"). A value its field cannot hold (a string in an int32,
  // 2^32 in a uint32, a fraction in an integer type, not a list for a repeated field) is a
  // ProtobufError PROTOBUF_BAD_VALUE; a field number outside 1 to 2^29 - 1 is
  // PROTOBUF_BAD_FIELD_NUMBER.
  return todo("lesson-10-grpc", "encodeMessage()", "Step 1");
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * The message in `bytes`, with every field of the spec: a field not on the wire has its default
 * (0, "", false, empty bytes, []; a message field stays undefined). Records of fields the spec
 * does not know are skipped by their wire type. A non-repeated field sent twice keeps the last
 * value, or for a message, both merged ("Last One Wins"); a repeated field's records add up, and
 * a numeric one is read packed or not, whichever was sent.
 */
export function decodeMessage(spec: MessageSpec, bytes: Uint8Array): ProtoMessage {
  // TODO: Start from every field's default, then read records to the end of the input: a tag
  // (field 0 is PROTOBUF_BAD_FIELD_NUMBER), then the value its wire type says. A field the spec
  // does not know is skipped by its wire type (VARINT, I64, I32, LEN; any other is
  // PROTOBUF_BAD_WIRE_TYPE): that is what lets an old reader take a newer writer's messages. A known
  // field in a wire type its type never has is PROTOBUF_WIRE_TYPE_MISMATCH, except that a
  // repeated numeric field may come packed (LEN) or not ("Packed Repeated Fields": parsers must
  // accept both). "Last One Wins": a non-repeated field seen twice keeps the last value, and an
  // embedded message seen twice is merged into the first. Check every length against the bytes
  // that are left (PROTOBUF_TRUNCATED, PROTOBUF_LENGTH_PAST_END), refuse a string that is not UTF-8
  // (PROTOBUF_BAD_UTF8), and stop past MAX_DEPTH nested messages (PROTOBUF_TOO_DEEP).
  return todo("lesson-10-grpc", "decodeMessage()", "Step 1");
}
