import fc from "fast-check";
import type protobuf from "protobufjs";
import { beforeAll, describe, expect, test } from "vitest";
import {
  decodeMessage,
  encodeMessage,
  type MessageSpec,
  type ProtoMessage,
} from "#lesson/lesson-10-grpc/protobuf.ts";
import {
  CreateUserRequestSpec,
  GetUserRequestSpec,
  ListUsersRequestSpec,
  UserSpec,
} from "#lesson/lesson-10-grpc/messages.ts";
import {
  assertProperty,
  bytesDiffer,
  hex,
  loadProtos,
  normalize,
  reference,
  referenceDecode,
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

/**
 * One message through both codecs: the learner's bytes must be protobufjs's, each codec must read
 * the other's bytes, and both must read the message that was given.
 */
function bothWays(type: protobuf.Type, spec: MessageSpec, message: ProtoMessage): void {
  const theirs = reference(type, spec, message);
  const ours = encodeMessage(spec, message);
  if (hex(ours) !== hex(theirs)) {
    expect.fail(
      bytesDiffer(
        `encodeMessage(${spec.name}) wrote other bytes than protobufjs for\n  ${visible(message)}`,
        theirs,
        ours,
      ),
    );
  }
  const expected = referenceDecode(type, spec, theirs);
  expect(
    normalize(spec, decodeMessage(spec, theirs)),
    `decodeMessage(${spec.name}) of protobufjs's bytes ${hex(theirs)}`,
  ).toEqual(expected);
  expect(
    referenceDecode(type, spec, ours),
    `protobufjs's decode of your bytes ${hex(ours)}`,
  ).toEqual(expected);
}

const text = fc.string({ unit: "binary", maxLength: 30 });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
// Float32 values, and doubles; NaN has many bit patterns and no single right encoding to compare.
const float = fc.float({ noNaN: true });
const double = fc.double({ noNaN: true });
const bytes = fc.uint8Array({ maxLength: 20 });
const color = fc.integer({ min: 0, max: 3 });
const list = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { maxLength: 6 });

const user = fc.record(
  {
    id: fc.oneof(fc.integer({ min: 1, max: 10 ** 9 }).map(String), text),
    name: text,
    email: fc.oneof(fc.emailAddress(), text),
  },
  { requiredKeys: [] },
);

const point = fc.record({ x: int32, y: int32, label: text }, { requiredKeys: [] });

const sampleMessage = fc.record(
  {
    int32Value: int32,
    uint32Value: uint32,
    sint32Value: int32,
    boolValue: fc.boolean(),
    color,
    fixed32Value: uint32,
    sfixed32Value: int32,
    floatValue: float,
    doubleValue: double,
    stringValue: text,
    bytesValue: bytes,
    point,
    int32List: list(int32),
    uint32List: list(uint32),
    sint32List: list(int32),
    boolList: list(fc.boolean()),
    colors: list(color),
    fixed32List: list(uint32),
    sfixed32List: list(int32),
    floatList: list(float),
    doubleList: list(double),
    stringList: list(text),
    bytesList: list(bytes),
    points: list(point),
  },
  { requiredKeys: [] },
);

describe("Step 1: Protocol Buffers by hand", () => {
  test("writes random users as protobufjs does, and each reads the other's", () => {
    assertProperty(
      fc.property(user, (message) => bothWays(protos.User, UserSpec, message)),
      { numRuns: 300 },
    );
  });

  test("writes random samples of every type as protobufjs does, and each reads the other's", () => {
    assertProperty(
      fc.property(sampleMessage, (message) => bothWays(protos.Sample, SampleSpec, message)),
      { numRuns: 300 },
    );
  });

  test("reads random newer users, keeping the fields User knows", () => {
    const newer = fc.record({
      id: text,
      name: text,
      email: text,
      age: uint32,
      score: double,
      flags: uint32,
      home: point,
      nicknames: list(text),
      delta: int32,
    });
    assertProperty(
      fc.property(newer, (message) => {
        const bytes = protos.UserV2.encode(message).finish();
        expect(
          decodeMessage(UserSpec, bytes),
          `a UserV2 from protobufjs, ${hex(bytes)}, read as a User: the fields User does not ` +
            "know are skipped by their wire type",
        ).toEqual({ id: message.id, name: message.name, email: message.email });
      }),
      { numRuns: 300 },
    );
  });

  test.each([
    ["User", () => UserSpec, { id: "123", name: "Ada Lovelace", email: "ada@example.com" }],
    ["GetUserRequest", () => GetUserRequestSpec, { id: "123" }],
    ["ListUsersRequest", () => ListUsersRequestSpec, { limit: 2 ** 32 - 1 }],
    ["CreateUserRequest", () => CreateUserRequestSpec, { name: "Ada", email: "ada@example.com" }],
  ])(
    "the given spec of %s is user.proto's, and your codec writes it as protobufjs does",
    (name, spec, message) => {
      const type = protos.User.root.lookupType(`users.v1.${name}`);
      expect(spec(), `messages.ts's ${name}Spec has drifted from user.proto`).toEqual(specOf(type));
      bothWays(type, spec(), message);
    },
  );
});
