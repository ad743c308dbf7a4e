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

/** The largest field number: a tag is 32 bits, of which 3 are the wire type. */
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

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
  const out = new Writer(10);
  out.varint(value);
  return out.finish();
}

/**
 * Reads the varint at `offset`: its value's low 32 bits, unsigned (every varint type of this codec
 * is 32 bits wide; a longer value, from an int64 this codec does not know, is cut as a C++ cast
 * would cut it), and the offset just after it.
 */
export function decodeVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  const reader = new Reader(bytes, offset, bytes.length, 0);
  const value = reader.varint();
  return { value, next: reader.pos };
}

/**
 * ZigZag ("Signed Integers"): maps signed to unsigned so that small magnitudes stay small,
 * 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3: `(n << 1) ^ (n >> 31)`, the sign moved to the lowest bit.
 */
export function zigzagEncode(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** ZigZag back: `(n >>> 1) ^ -(n & 1)`. */
export function zigzagDecode(value: number): number {
  return (value >>> 1) ^ -(value & 1);
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
  const out = new Writer(64);
  writeMessage(out, spec, message, 0);
  return out.finish();
}

function writeMessage(out: Writer, spec: MessageSpec, message: ProtoMessage, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new ProtobufError("PROTOBUF_TOO_DEEP", `${spec.name} is nested deeper than ${MAX_DEPTH}`);
  }
  for (const field of spec.fields) {
    if (!Number.isInteger(field.number) || field.number < 1 || field.number > MAX_FIELD_NUMBER) {
      throw new ProtobufError(
        "PROTOBUF_BAD_FIELD_NUMBER",
        `${spec.name}.${field.name} has field number ${field.number}: they go from 1 to ${MAX_FIELD_NUMBER}`,
      );
    }
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated) writeRepeated(out, spec, field, value, depth);
    else if (!isDefault(field, value)) writeField(out, spec, field, value, depth);
  }
}

/** proto3 leaves a field with its default off the wire: the receiver cannot tell it from absent. */
function isDefault(field: FieldSpec, value: ProtoValue): boolean {
  switch (field.type) {
    case "string":
      return value === "";
    case "bytes":
      return value instanceof Uint8Array && value.length === 0;
    case "bool":
      return value === false;
    case "message":
      return false; // a message that is there is written, even empty: its presence is the data
    case "float":
    case "double":
      // -0 is not the default: its sign bit is set, and protobuf's own implementations write it.
      return Object.is(value, 0);
    default:
      return value === 0;
  }
}

function writeRepeated(
  out: Writer,
  spec: MessageSpec,
  field: FieldSpec,
  value: ProtoValue,
  depth: number,
): void {
  if (!Array.isArray(value)) {
    throw badValue(spec, field, value, "a list (the field is repeated)");
  }
  if (value.length === 0) return;
  if (field.type === "string" || field.type === "bytes" || field.type === "message") {
    // "Repeated Elements": one record per element, each with its own tag.
    for (const element of value) writeField(out, spec, field, element, depth);
    return;
  }
  // "Packed Repeated Fields": proto3 packs numeric lists, all the values in one LEN record.
  out.tag(field.number, WireType.LEN);
  const mark = out.beginLength();
  for (const element of value) writeScalar(out, spec, field, element);
  out.endLength(mark);
}

function writeField(
  out: Writer,
  spec: MessageSpec,
  field: FieldSpec,
  value: ProtoValue,
  depth: number,
): void {
  out.tag(field.number, wireTypeOf(field.type));
  switch (field.type) {
    case "string": {
      if (typeof value !== "string") throw badValue(spec, field, value, "a string");
      // The length is of the UTF-8 bytes, not of the JS string's UTF-16 code units.
      out.string(value);
      return;
    }
    case "bytes":
      if (!(value instanceof Uint8Array)) throw badValue(spec, field, value, "a Uint8Array");
      out.bytes(value);
      return;
    case "message": {
      const inner = messageSpecOf(spec, field);
      if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
        throw badValue(spec, field, value, `a ${inner.name} object`);
      }
      // "Embedded Messages": the message's own bytes, as a LEN record.
      const mark = out.beginLength();
      writeMessage(out, inner, value, depth + 1);
      out.endLength(mark);
      return;
    }
    default:
      writeScalar(out, spec, field, value);
  }
}

/** A numeric or bool value without its tag: what a record holds, and what a packed list repeats. */
function writeScalar(out: Writer, spec: MessageSpec, field: FieldSpec, value: ProtoValue): void {
  switch (field.type) {
    case "bool":
      if (typeof value !== "boolean") throw badValue(spec, field, value, "true or false");
      out.byte(value ? 1 : 0);
      return;
    case "int32":
    case "enum":
      // A negative int32 is sign-extended to 64 bits, so it takes ten bytes: use sint32 for those.
      out.varint(checkInteger(spec, field, value, -(2 ** 31), 2 ** 31 - 1));
      return;
    case "uint32":
      out.varint(checkInteger(spec, field, value, 0, 2 ** 32 - 1));
      return;
    case "sint32":
      out.varint(zigzagEncode(checkInteger(spec, field, value, -(2 ** 31), 2 ** 31 - 1)));
      return;
    case "fixed32":
      out.fixed32(checkInteger(spec, field, value, 0, 2 ** 32 - 1));
      return;
    case "sfixed32":
      out.fixed32(checkInteger(spec, field, value, -(2 ** 31), 2 ** 31 - 1) >>> 0);
      return;
    case "float":
      out.float(checkNumber(spec, field, value));
      return;
    case "double":
      out.double(checkNumber(spec, field, value));
      return;
    default:
      throw badValue(spec, field, value, "a number");
  }
}

function wireTypeOf(type: FieldSpec["type"]): WireType {
  switch (type) {
    case "string":
    case "bytes":
    case "message":
      return WireType.LEN;
    case "fixed32":
    case "sfixed32":
    case "float":
      return WireType.I32;
    case "double":
      return WireType.I64;
    default:
      return WireType.VARINT;
  }
}

function checkInteger(
  spec: MessageSpec,
  field: FieldSpec,
  value: ProtoValue,
  min: number,
  max: number,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badValue(spec, field, value, `a whole number from ${min} to ${max}`);
  }
  return value;
}

function checkNumber(spec: MessageSpec, field: FieldSpec, value: ProtoValue): number {
  if (typeof value !== "number") throw badValue(spec, field, value, "a number");
  return value;
}

function messageSpecOf(spec: MessageSpec, field: FieldSpec): MessageSpec {
  if (field.message === undefined) {
    throw new ProtobufError(
      "PROTOBUF_BAD_VALUE",
      `${spec.name}.${field.name} is a message field, but its spec names no message type`,
    );
  }
  return field.message;
}

function badValue(
  spec: MessageSpec,
  field: FieldSpec,
  value: unknown,
  expected: string,
): ProtobufError {
  const shown = value instanceof Uint8Array ? "a Uint8Array" : JSON.stringify(value);
  return new ProtobufError(
    "PROTOBUF_BAD_VALUE",
    `${spec.name}.${field.name} is ${field.repeated ? "repeated " : ""}${field.type}: it takes ${expected}, not ${String(shown)}`,
  );
}

const textEncoder = new TextEncoder();

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** bytes[start..end) as a string when they are short ASCII (UTF-8 and ASCII agree there). */
function asciiString(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > 64) return undefined;
  let text = "";
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x80) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}
// ignoreBOM: a leading U+FEFF is a character of the string, which the decoder would otherwise drop.
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes written into a buffer that doubles when it is full. */
class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(size, 16));
    this.view = new DataView(this.buf.buffer);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  tag(fieldNumber: number, wireType: WireType): void {
    // field_number << 3 would overflow 32 bits past 2^28: multiply instead.
    this.varint(fieldNumber * 8 + wireType);
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  varint(value: number): void {
    this.reserve(10);
    if (value < 0) {
      // Two's complement over 64 bits: 2^64 + value, which a double cannot hold exactly.
      let rest = BigInt.asUintN(64, BigInt(value));
      while (rest >= 0x80n) {
        this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
        rest >>= 7n;
      }
      this.buf[this.pos++] = Number(rest);
      return;
    }
    // Division, not `>>`: the shift operators work on 32-bit signed integers, and 2^31 and up
    // would come out negative.
    let rest = value;
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buf[this.pos++] = rest;
  }

  fixed32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, value, true); // little-endian, as every fixed-width value is
    this.pos += 4;
  }

  float(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  double(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /**
   * Starts a LEN record's contents, whose length is not known until they are written: one byte is
   * kept for it, enough for up to 127 bytes. endLength() writes it, moving the contents along when
   * the length needs a longer varint.
   */
  beginLength(): number {
    this.reserve(1);
    return this.pos++;
  }

  endLength(mark: number): void {
    const length = this.pos - mark - 1;
    if (length < 0x80) {
      this.buf[mark] = length;
      return;
    }
    const size = encodeVarint(length);
    this.reserve(size.length - 1);
    this.buf.copyWithin(mark + size.length, mark + 1, this.pos);
    this.buf.set(size, mark);
    this.pos += size.length - 1;
  }

  /** A string's UTF-8 length as a varint, then its UTF-8 bytes. */
  string(value: string): void {
    // Most strings on the wire are short ASCII: written here byte for byte, they skip a call into
    // the TextEncoder, which costs more than the copy.
    if (value.length < 128 && isAscii(value)) {
      this.reserve(1 + value.length);
      this.buf[this.pos++] = value.length;
      for (let i = 0; i < value.length; i++) this.buf[this.pos++] = value.charCodeAt(i);
      return;
    }
    this.bytes(textEncoder.encode(value));
  }

  /** A LEN record's contents: their length as a varint, then the bytes. */
  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private reserve(count: number): void {
    if (this.pos + count <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + count) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
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
  const message = defaults(spec);
  new Reader(bytes, 0, bytes.length, 0).message(spec, message);
  return message;
}

function defaults(spec: MessageSpec): ProtoMessage {
  const message: ProtoMessage = {};
  for (const field of spec.fields) {
    if (field.repeated) message[field.name] = [];
    else message[field.name] = defaultOf(field.type);
  }
  return message;
}

function defaultOf(type: FieldSpec["type"]): ProtoValue | undefined {
  switch (type) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "bool":
      return false;
    case "message":
      return undefined;
    default:
      return 0;
  }
}

/** Reads bytes[pos..end): one message, or the inside of one LEN record. */
class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos: number;
  private readonly end: number;
  private readonly depth: number;

  constructor(buf: Uint8Array, pos: number, end: number, depth: number, view?: DataView) {
    this.buf = buf;
    this.view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
    this.depth = depth;
  }

  message(spec: MessageSpec, message: ProtoMessage): void {
    if (this.depth > MAX_DEPTH) {
      throw new ProtobufError(
        "PROTOBUF_TOO_DEEP",
        `${spec.name} is nested deeper than ${MAX_DEPTH}`,
        this.pos,
      );
    }
    const byNumber = fieldsByNumber(spec);
    while (this.pos < this.end) {
      const at = this.pos;
      const tag = this.varint();
      const wireType = tag & 7;
      const fieldNumber = tag >>> 3;
      if (fieldNumber === 0) {
        throw new ProtobufError("PROTOBUF_BAD_FIELD_NUMBER", `tag 0x${hex(tag)} names field 0`, at);
      }
      const field = byNumber.get(fieldNumber);
      if (field === undefined) {
        // An unknown field: a newer sender's. Its wire type says how far to skip.
        this.skip(wireType, fieldNumber, at);
      } else {
        this.field(spec, field, wireType, message, at);
      }
    }
  }

  private field(
    spec: MessageSpec,
    field: FieldSpec,
    wireType: number,
    message: ProtoMessage,
    at: number,
  ): void {
    const expected = wireTypeOf(field.type);
    if (field.repeated) {
      const list = message[field.name] as ProtoValue[];
      if (wireType === WireType.LEN && expected !== WireType.LEN) {
        // Packed: the values one after another in a LEN record, until its end.
        const inner = this.sub();
        while (inner.pos < inner.end) list.push(inner.scalar(field.type));
        return;
      }
      this.expectWireType(spec, field, wireType, expected, at);
      list.push(this.value(field, undefined));
      return;
    }
    this.expectWireType(spec, field, wireType, expected, at);
    message[field.name] = this.value(field, message[field.name]);
  }

  private expectWireType(
    spec: MessageSpec,
    field: FieldSpec,
    wireType: number,
    expected: WireType,
    at: number,
  ): void {
    if (wireType === expected) return;
    throw new ProtobufError(
      "PROTOBUF_WIRE_TYPE_MISMATCH",
      `${spec.name}.${field.name} (field ${field.number}, ${field.type}) is sent as wire type ` +
        `${expected} (${wireTypeName(expected)}), not ${wireType} (${wireTypeName(wireType)})`,
      at,
    );
  }

  /** One value of `field`, its tag read; `previous` is the message a second record merges into. */
  private value(field: FieldSpec, previous: ProtoValue | undefined): ProtoValue {
    switch (field.type) {
      case "string": {
        const start = this.record();
        const end = this.pos;
        const ascii = asciiString(this.buf, start, end);
        if (ascii !== undefined) return ascii;
        try {
          return textDecoder.decode(this.buf.subarray(start, end));
        } catch {
          throw new ProtobufError(
            "PROTOBUF_BAD_UTF8",
            `${field.name} is a string, and its bytes are not UTF-8`,
            start,
          );
        }
      }
      case "bytes": {
        const start = this.record();
        return this.buf.slice(start, this.pos);
      }
      case "message": {
        const spec = field.message as MessageSpec;
        const inner = this.sub();
        // "Last One Wins" for a message means merge: a second record adds to the first.
        const target = (previous as ProtoMessage | undefined) ?? defaults(spec);
        inner.message(spec, target);
        return target;
      }
      default:
        return this.scalar(field.type);
    }
  }

  private scalar(type: FieldSpec["type"]): ProtoValue {
    switch (type) {
      case "bool":
        return this.varint() !== 0;
      case "int32":
      case "enum":
        return this.varint() | 0; // the low 32 bits, read as signed
      case "uint32":
        return this.varint();
      case "sint32":
        return zigzagDecode(this.varint());
      case "fixed32":
        return this.view.getUint32(this.take(4), true);
      case "sfixed32":
        return this.view.getInt32(this.take(4), true);
      case "float":
        return this.view.getFloat32(this.take(4), true);
      case "double":
        return this.view.getFloat64(this.take(8), true);
      default:
        throw new Error(`${type} is not a scalar that can be packed`);
    }
  }

  varint(): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        throw new ProtobufError("PROTOBUF_TRUNCATED", "the input ends inside a varint", start);
      }
      const byte = this.buf[this.pos++] as number;
      // Only the first five groups (35 bits) reach the low 32 bits; the rest are read and dropped.
      if (i < 5) value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value % 2 ** 32;
    }
    throw new ProtobufError(
      "PROTOBUF_VARINT_TOO_LONG",
      "a varint goes on past 10 bytes, longer than any 64-bit value",
      start,
    );
  }

  /** The start of `count` bytes, moved past; the input must hold them. */
  private take(count: number): number {
    if (this.end - this.pos < count) {
      throw new ProtobufError(
        "PROTOBUF_TRUNCATED",
        `the input ends ${this.end - this.pos} bytes into a ${count}-byte value`,
        this.pos,
      );
    }
    const start = this.pos;
    this.pos += count;
    return start;
  }

  /** A LEN record's contents, as a reader of their own; this one moves past them. */
  private sub(): Reader {
    const start = this.record();
    return new Reader(this.buf, start, this.pos, this.depth + 1, this.view);
  }

  /** Reads a LEN record's length and moves past its contents: where they start; they end at `pos`. */
  private record(): number {
    const at = this.pos;
    const length = this.varint();
    if (length > this.end - this.pos) {
      throw new ProtobufError(
        "PROTOBUF_LENGTH_PAST_END",
        `a length of ${length} goes past the end: ${this.end - this.pos} bytes are left`,
        at,
      );
    }
    const start = this.pos;
    this.pos += length;
    return start;
  }

  private skip(wireType: number, fieldNumber: number, at: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint();
        return;
      case WireType.I64:
        this.take(8);
        return;
      case WireType.LEN:
        this.record();
        return;
      case WireType.I32:
        this.take(4);
        return;
      default:
        throw new ProtobufError(
          "PROTOBUF_BAD_WIRE_TYPE",
          `field ${fieldNumber} has wire type ${wireType}, ${wireTypeName(wireType)}`,
          at,
        );
    }
  }
}

const specIndex = new WeakMap<MessageSpec, Map<number, FieldSpec>>();

/** The spec's fields by number, built once per spec. */
function fieldsByNumber(spec: MessageSpec): Map<number, FieldSpec> {
  let index = specIndex.get(spec);
  if (index === undefined) {
    index = new Map(spec.fields.map((field) => [field.number, field]));
    specIndex.set(spec, index);
  }
  return index;
}

function wireTypeName(wireType: number): string {
  switch (wireType) {
    case WireType.VARINT:
      return "VARINT";
    case WireType.I64:
      return "I64";
    case WireType.LEN:
      return "LEN";
    case WireType.I32:
      return "I32";
    case 3:
    case 4:
      return "a proto2 group, which proto3 does not have";
    default:
      return "no wire type at all";
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}
