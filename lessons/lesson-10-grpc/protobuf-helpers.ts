/**
 * What the Step 1 tests share: the lesson's .proto files read by protobufjs (the reference the
 * learner's bytes are compared with), MessageSpecs made from protobufjs's reflection, and failure
 * messages that show bytes record by record.
 */
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import protobuf from "protobufjs";
import { expect } from "vitest";
import { isNotWritten } from "#shared/testing/server-log.ts";
import type {
  FieldSpec,
  MessageSpec,
  ProtoMessage,
  ProtoValue,
} from "#lesson/lesson-10-grpc/protobuf.ts";

const protoFile = (name: string): string =>
  fileURLToPath(new URL(`./protos/${name}`, import.meta.url));

export interface Protos {
  User: protobuf.Type;
  Sample: protobuf.Type;
  Point: protobuf.Type;
  UserV2: protobuf.Type;
}

/** user.proto and sample.proto, loaded with protobufjs (camelCase names, as proto-loader gives). */
export async function loadProtos(): Promise<Protos> {
  const root = await protobuf.load([protoFile("user.proto"), protoFile("sample.proto")]);
  root.resolveAll();
  return {
    User: root.lookupType("users.v1.User"),
    Sample: root.lookupType("sample.v1.Sample"),
    Point: root.lookupType("sample.v1.Point"),
    UserV2: root.lookupType("sample.v1.UserV2"),
  };
}

const SCALARS = new Set([
  "int32",
  "uint32",
  "sint32",
  "bool",
  "fixed32",
  "sfixed32",
  "float",
  "double",
  "string",
  "bytes",
]);

/** The MessageSpec of a protobufjs type, fields in the .proto's order. */
export function specOf(
  type: protobuf.Type,
  seen = new Map<protobuf.Type, MessageSpec>(),
): MessageSpec {
  const known = seen.get(type);
  if (known) return known;
  const fields: FieldSpec[] = [];
  const spec: MessageSpec = { name: type.fullName.replace(/^\./, ""), fields };
  seen.set(type, spec);
  for (const field of type.fieldsArray) {
    const resolved = field.resolve().resolvedType;
    const entry: FieldSpec = { name: field.name, number: field.id, type: "int32" };
    if (SCALARS.has(field.type)) entry.type = field.type as FieldSpec["type"];
    else if (resolved instanceof protobuf.Enum) entry.type = "enum";
    else if (resolved instanceof protobuf.Type) {
      entry.type = "message";
      entry.message = specOf(resolved, seen);
    } else
      throw new Error(`${type.name}.${field.name}: ${field.type} is not a type the codec knows`);
    if (field.repeated) entry.repeated = true;
    fields.push(entry);
  }
  return spec;
}

/** Is `value` its field's proto3 default (what a proto3 encoder leaves off the wire)? */
function isDefault(field: FieldSpec, value: ProtoValue | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (field.repeated) return (value as ProtoValue[]).length === 0;
  if (field.type === "message") return false;
  if (value instanceof Uint8Array) return value.length === 0;
  return value === "" || value === false || Object.is(value, 0);
}

/**
 * The message with its defaults removed, for protobufjs: it writes every field that is set, even
 * to its default, where proto3 ("Default Values") leaves a default off the wire.
 */
export function withoutDefaults(spec: MessageSpec, message: ProtoMessage): ProtoMessage {
  const out: ProtoMessage = {};
  for (const field of spec.fields) {
    const value = message[field.name];
    if (isDefault(field, value)) continue;
    if (field.type === "message" && field.message) {
      const inner = field.message;
      out[field.name] = field.repeated
        ? (value as ProtoMessage[]).map((m) => withoutDefaults(inner, m))
        : withoutDefaults(inner, value as ProtoMessage);
    } else out[field.name] = value;
  }
  return out;
}

/** What protobufjs encodes for `message` (its defaults removed first). */
export function reference(
  type: protobuf.Type,
  spec: MessageSpec,
  message: ProtoMessage,
): Uint8Array {
  return type.encode(withoutDefaults(spec, message)).finish();
}

/**
 * What protobufjs decodes from `bytes`, in the shape decodeMessage gives: every field, defaults
 * filled in, bytes as Uint8Array, an absent message undefined.
 */
export function referenceDecode(
  type: protobuf.Type,
  spec: MessageSpec,
  bytes: Uint8Array,
): ProtoMessage {
  const object = type.toObject(type.decode(bytes), { defaults: true, arrays: true });
  return normalize(spec, object as ProtoMessage);
}

/** A decoded message in one plain shape, whichever decoder made it, for toEqual. */
export function normalize(spec: MessageSpec, message: ProtoMessage): ProtoMessage {
  const out: ProtoMessage = {};
  const one = (field: FieldSpec, value: ProtoValue): ProtoValue => {
    if (field.type === "message" && field.message)
      return normalize(field.message, value as ProtoMessage);
    if (value instanceof Uint8Array) return new Uint8Array(value);
    return value;
  };
  for (const field of spec.fields) {
    const value = message[field.name];
    if (value === undefined || value === null) out[field.name] = value ?? undefined;
    else if (field.repeated && Array.isArray(value))
      out[field.name] = value.map((v) => one(field, v));
    else out[field.name] = one(field, value);
  }
  return out;
}

/** Bytes as hex pairs: `0a 03 41 64 61`. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

const WIRE_NAMES: Record<number, string> = { 0: "VARINT", 1: "I64", 2: "LEN", 5: "I32" };

/**
 * The records in `bytes`, one a line: `field 2 LEN (3 bytes): 41 64 61`. Read here without the
 * learner's codec, so a wrong encoder's bytes are shown as they are; what cannot be read is shown
 * as hex.
 */
export function records(bytes: Uint8Array): string {
  const lines: string[] = [];
  let pos = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let i = 0; i < 10 && pos < bytes.length; i++) {
      const byte = bytes[pos++] as number;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const start = pos;
    const tag = varint();
    const wire = tag === undefined ? -1 : tag % 8;
    const field = tag === undefined ? 0 : Math.floor(tag / 8);
    let end: number | undefined;
    if (wire === 0) end = varint() === undefined ? undefined : pos;
    else if (wire === 1) end = pos + 8;
    else if (wire === 5) end = pos + 4;
    else if (wire === 2) {
      const length = varint();
      end = length === undefined ? undefined : pos + length;
    }
    if (end === undefined || end > bytes.length) {
      lines.push(`    (not a record) ${hex(bytes.subarray(start))}`);
      break;
    }
    const what = `field ${field} ${WIRE_NAMES[wire] ?? `wire type ${wire}`}`;
    lines.push(`    ${what}: ${hex(bytes.subarray(start, end))}`);
    pos = end;
  }
  return lines.length === 0 ? "    (no bytes: every field has its default)" : lines.join("\n");
}

/** A failure message: the rule, then the expected and received bytes, record by record. */
export function bytesDiffer(rule: string, expected: Uint8Array, received: Uint8Array): string {
  return [
    rule,
    `  expected (protobufjs, ${expected.length} bytes):`,
    records(expected),
    `  received (your encodeMessage, ${received.length} bytes):`,
    records(received),
  ].join("\n");
}

/** Bytes from hex pairs: `bytesOf("0a 03 41 64 61")`. */
export function bytesOf(pairs: string): Uint8Array {
  const clean = pairs.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/**
 * A value as a failure message shows it: -0 as -0 (JSON.stringify writes 0), bytes as hex, and
 * strings quoted with every character a reader cannot see escaped: the C0 controls, DEL, the C1
 * controls from U+0080, no-break, wide and zero-width spaces, the bidi marks and U+FEFF.
 */
export function visible(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\u00a0\u00ad\u2000-\u200f\u2028-\u202f\u2060-\u206f\ufeff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (value instanceof Uint8Array) return `<bytes ${hex(value)}>`;
  if (Array.isArray(value)) return `[${value.map(visible).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([key, v]) => `${key}: ${visible(v)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  return String(value);
}

/**
 * fc.assert, with the counterexample shown by visible(): fast-check's own line prints -0 right
 * but leaves U+0080 or a DEL invisible, so that `{"name":""}` looks empty.
 */
export function assertProperty<T>(
  property: fc.IProperty<T>,
  parameters: fc.Parameters<T> = {},
): void {
  fc.assert(property, {
    ...parameters,
    reporter(details) {
      if (!details.failed) return;
      // A function not written yet fails as itself, naming the function and its step.
      if (isNotWritten(details.errorInstance)) throw details.errorInstance;
      const report = fc.defaultReportMessage(details) ?? "the property failed";
      throw new Error(
        report.replace(
          /^Counterexample: .*$/m,
          `Counterexample: ${visible(details.counterexample)}`,
        ),
        { cause: details.errorInstance },
      );
    },
  });
}

/** The error `fn` throws; if it returns instead, a failure that says the rule and what came back. */
export function refusal(fn: () => unknown, rule: string): unknown {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return error;
  }
  return expect.fail(`${rule}\n  nothing was thrown: it returned ${visible(result)}`);
}
