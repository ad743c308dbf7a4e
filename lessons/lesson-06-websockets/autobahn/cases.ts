/**
 * Autobahn|Testsuite's fuzzing-client cases that apply without permessage-deflate: groups 1 to 7
 * and case 10.1.1, each under its Autobahn id, with what Autobahn sends and expects. Group 6, the
 * UTF-8 cases, is in utf8-cases.ts. Group 9 (sizes up to 16 MiB, and timings) is left out: it
 * measures speed, not conformance, and runs for minutes.
 */
import { utf8Cases } from "./utf8-cases.ts";
import {
  BINARY,
  CLEAN_NORMAL_CLOSE,
  CLOSE,
  CONTINUATION,
  FAILED_BY_SERVER,
  hex,
  INVALID_PAYLOAD,
  message,
  NORMAL,
  PING,
  pong,
  PONG,
  PROTOCOL_ERROR,
  TEXT,
  utf8,
  type AutobahnCase,
  type Step,
} from "./table.ts";

const hello = utf8("Hello, world!");

// 1 Framing: text and binary messages around the 7-bit, 16-bit and 64-bit length boundaries.
function framing(group: "1.1" | "1.2", binary: boolean): AutobahnCase[] {
  const kind = binary ? "binary" : "text";
  const fill = (n: number): Buffer => Buffer.alloc(n, binary ? 0xfe : 0x2a); // "\xfe" or "*"
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  const cases = sizes.map((size, i): AutobahnCase => ({
    id: `${group}.${i + 1}`,
    description:
      size === 0
        ? `Send ${kind} message with payload 0.`
        : `Send ${kind} message message with payload of length ${size}.`,
    expectation: `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
    steps: [{ frame: { opcode: binary ? BINARY : TEXT, payload: fill(size) } }],
    expected: { OK: [message(fill(size), binary)] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "kill", ms: size >= 65535 ? 10_000 : 1_000 },
  }));
  cases.push({
    id: `${group}.8`,
    description: `Send ${kind} message message with payload of length 65536. Sent out data in chops of 997 octets.`,
    expectation: `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
    steps: [{ frame: { opcode: binary ? BINARY : TEXT, payload: fill(65536) }, chop: 997 }],
    expected: { OK: [message(fill(65536), binary)] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "kill", ms: 10_000 },
  });
  return cases;
}

// 2 Pings and pongs.
const PONG_ECHOED =
  "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.";
const tenPings = (chop?: number): Step[] =>
  Array.from({ length: 10 }, (_, i) => ({
    frame: { opcode: PING, payload: utf8(`payload-${i}`) },
    ...(chop ? { chop } : {}),
  }));
const tenPongs = Array.from({ length: 10 }, (_, i) => pong(utf8(`payload-${i}`)));
const pings: AutobahnCase[] = [
  {
    id: "2.1",
    description: "Send ping without payload.",
    expectation:
      "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.",
    steps: [{ frame: { opcode: PING } }],
    expected: { OK: [pong()] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.2",
    description: "Send ping with small text payload.",
    expectation: PONG_ECHOED,
    steps: [{ frame: { opcode: PING, payload: utf8("Hello, world!") } }],
    expected: { OK: [pong(utf8("Hello, world!"))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.3",
    description: "Send ping with small binary (non UTF-8) payload.",
    expectation: PONG_ECHOED,
    steps: [{ frame: { opcode: PING, payload: hex("00fffefdfcfb00ff") } }],
    expected: { OK: [pong(hex("00fffefdfcfb00ff"))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.4",
    description: "Send ping with binary payload of 125 octets.",
    expectation: PONG_ECHOED,
    steps: [{ frame: { opcode: PING, payload: Buffer.alloc(125, 0xfe) } }],
    expected: { OK: [pong(Buffer.alloc(125, 0xfe))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.5",
    description: "Send ping with binary payload of 126 octets.",
    expectation:
      "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.",
    steps: [{ frame: { opcode: PING, payload: Buffer.alloc(126, 0xfe) } }],
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
  {
    id: "2.6",
    description: "Send ping with binary payload of 125 octets, send in octet-wise chops.",
    expectation: `Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.`,
    steps: [{ frame: { opcode: PING, payload: Buffer.alloc(125, 0xfe) }, chop: 1 }],
    expected: { OK: [pong(Buffer.alloc(125, 0xfe))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 2_000 },
  },
  {
    id: "2.7",
    description:
      "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.",
    expectation: "Nothing.",
    steps: [{ frame: { opcode: PONG } }, { close: { code: NORMAL } }],
    expected: { OK: [] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.8",
    description:
      "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.",
    expectation: "Nothing.",
    steps: [
      { frame: { opcode: PONG, payload: utf8("unsolicited pong payload") } },
      { close: { code: NORMAL } },
    ],
    expected: { OK: [] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.9",
    description:
      "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
    expectation:
      "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
    steps: [
      { frame: { opcode: PONG, payload: utf8("unsolicited pong payload") } },
      { frame: { opcode: PING, payload: utf8("ping payload") } },
    ],
    expected: { OK: [pong(utf8("ping payload"))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  },
  {
    id: "2.10",
    description: "Send 10 Pings with payload.",
    expectation:
      "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
    steps: tenPings(),
    expected: { OK: tenPongs },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 3_000 },
  },
  {
    id: "2.11",
    description: "Send 10 Pings with payload. Send out octets in octet-wise chops.",
    expectation:
      "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
    steps: tenPings(1),
    expected: { OK: tenPongs },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 3_000 },
  },
];

// 3 Reserved bits: RSV must be 0 when no extension gave them a meaning (RFC 6455 §5.2).
const RSV_FAILED = "The connection is failed immediately, since RSV must be 0.";
const RSV_AFTER_ECHO =
  "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.";
function rsvAfterEcho(
  id: string,
  rsv: number,
  how: { sync?: boolean; chop?: number },
  description: string,
): AutobahnCase {
  return {
    id,
    description,
    expectation: RSV_AFTER_ECHO,
    steps: [
      { frame: { opcode: TEXT, payload: hello }, ...how },
      { frame: { opcode: TEXT, payload: hello, rsv }, ...how },
      { frame: { opcode: PING }, ...how },
    ],
    expected: { OK: [message(hello)], "NON-STRICT": [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  };
}
const reservedBits: AutobahnCase[] = [
  {
    id: "3.1",
    description: "Send small text message with RSV = 1.",
    expectation:
      "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.",
    steps: [{ frame: { opcode: TEXT, payload: hello, rsv: 1 } }],
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
  rsvAfterEcho(
    "3.2",
    2,
    {},
    "Send small text message, then send again with RSV = 2, then send Ping.",
  ),
  rsvAfterEcho(
    "3.3",
    3,
    { sync: true },
    "Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise chops.",
  ),
  rsvAfterEcho(
    "3.4",
    4,
    { chop: 1 },
    "Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise chops.",
  ),
  {
    id: "3.5",
    description: "Send small binary message with RSV = 5.",
    expectation: RSV_FAILED,
    steps: [{ frame: { opcode: BINARY, payload: hex("00fffefdfcfb00ff"), rsv: 5 } }],
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
  {
    id: "3.6",
    description: "Send Ping with RSV = 6.",
    expectation: RSV_FAILED,
    // Autobahn's case sends opcode 2 here, not a Ping; the bytes are what it sends.
    steps: [{ frame: { opcode: BINARY, payload: hello, rsv: 6 } }],
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
  {
    id: "3.7",
    description: "Send Close with RSV = 7.",
    expectation: RSV_FAILED,
    steps: [{ frame: { opcode: CLOSE, rsv: 7 } }],
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
];

// 4 Reserved opcodes: 3-7 (non-control) and 11-15 (control) fail the connection (§5.2).
function reservedOpcode(
  id: string,
  opcode: number,
  withPayload: boolean,
  afterEcho: boolean,
): AutobahnCase {
  const kind = opcode < 8 ? "non-control" : "control";
  const frame = `frame with reserved ${kind} Opcode = ${opcode}${withPayload ? " and non-empty payload" : ""}`;
  const payload = afterEcho ? hello : utf8("reserved opcode payload");
  const bad = { frame: { opcode, ...(withPayload ? { payload } : {}) } };
  if (!afterEcho) {
    return {
      id,
      description: `Send ${frame}.`,
      expectation: "The connection is failed immediately.",
      steps: [bad],
      expected: { OK: [] },
      close: FAILED_BY_SERVER,
      deadline: { after: "kill", ms: 1_000 },
    };
  }
  const chop = id.endsWith(".5") ? { chop: 1 } : {};
  return {
    id,
    description: `Send small text message, then send ${frame}, then send Ping.`,
    expectation:
      "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.",
    steps: [
      { frame: { opcode: TEXT, payload: hello }, ...chop },
      { ...bad, ...chop },
      { frame: { opcode: PING }, ...chop },
    ],
    expected: { OK: [message(hello)], "NON-STRICT": [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  };
}
const reservedOpcodes: AutobahnCase[] = [
  reservedOpcode("4.1.1", 3, false, false),
  reservedOpcode("4.1.2", 4, true, false),
  reservedOpcode("4.1.3", 5, false, true),
  reservedOpcode("4.1.4", 6, true, true),
  reservedOpcode("4.1.5", 7, true, true),
  reservedOpcode("4.2.1", 11, false, false),
  reservedOpcode("4.2.2", 12, true, false),
  reservedOpcode("4.2.3", 13, false, true),
  reservedOpcode("4.2.4", 14, true, true),
  reservedOpcode("4.2.5", 15, true, true),
];

// 5 Fragmentation (§5.4): control frames are never fragmented and may come between fragments;
// a continuation frame needs a message to continue; a new message cannot start inside another.
const fragment = (
  opcode: number,
  fin: boolean,
  payload: string,
  how: { sync?: boolean; chop?: number } = {},
): Step => ({
  frame: { opcode, fin, payload: utf8(payload) },
  ...how,
});
const NOTHING_TO_CONTINUE =
  "The connection is failed immediately, since there is no message to continue.";
function failing(
  id: string,
  description: string,
  expectation: string,
  steps: Step[],
): AutobahnCase {
  return {
    id,
    description,
    expectation,
    steps,
    expected: { OK: [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  };
}
function echoed(
  id: string,
  description: string,
  expectation: string,
  steps: Step[],
  expected: AutobahnCase["expected"]["OK"],
): AutobahnCase {
  return {
    id,
    description,
    expectation,
    steps,
    expected: { OK: expected },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  };
}
const twoFragments = (how: { sync?: boolean; chop?: number }): Step[] => [
  fragment(TEXT, false, "fragment1", how),
  fragment(CONTINUATION, true, "fragment2", how),
];
const pingBetween = (how: { sync?: boolean; chop?: number }): Step[] => [
  fragment(TEXT, false, "fragment1", how),
  fragment(PING, true, "ping payload", how),
  fragment(CONTINUATION, true, "fragment2", how),
];
const nothingToContinue = (fin: boolean, how: { sync?: boolean; chop?: number }): Step[] => [
  fragment(CONTINUATION, fin, "non-continuation payload", how),
  fragment(TEXT, true, "Hello, world!", how),
];
const repeated = (fin: boolean): Step[] =>
  [1, 2].flatMap(() => [
    fragment(CONTINUATION, fin, "fragment1"),
    fragment(TEXT, false, "fragment2"),
    fragment(CONTINUATION, true, "fragment3"),
  ]);
function pingsInFragments(
  id: string,
  sync: boolean,
  description: string,
  expectation: string,
): AutobahnCase {
  const how = { sync };
  return {
    id,
    description,
    expectation,
    // Autobahn waits 1 s after the first Ping; waiting for its Pong shows the same thing, that the
    // server answers a Ping before the message it interrupts is complete.
    steps: [
      fragment(TEXT, false, "fragment1", how),
      fragment(CONTINUATION, false, "fragment2", how),
      fragment(PING, true, "pongme 1!", how),
      { waitForEvents: 1 },
      fragment(CONTINUATION, false, "fragment3", how),
      fragment(CONTINUATION, false, "fragment4", how),
      fragment(PING, true, "pongme 2!", how),
      fragment(CONTINUATION, true, "fragment5", how),
    ],
    expected: {
      OK: [
        pong(utf8("pongme 1!")),
        pong(utf8("pongme 2!")),
        message(utf8("fragment1fragment2fragment3fragment4fragment5")),
      ],
    },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 2_000 },
  };
}
const fragments: AutobahnCase[] = [
  failing(
    "5.1",
    "Send Ping fragmented into 2 fragments.",
    "Connection is failed immediately, since control message MUST NOT be fragmented.",
    [fragment(PING, false, "fragment1"), fragment(CONTINUATION, true, "fragment2")],
  ),
  failing(
    "5.2",
    "Send Pong fragmented into 2 fragments.",
    "Connection is failed immediately, since control message MUST NOT be fragmented.",
    [fragment(PONG, false, "fragment1"), fragment(CONTINUATION, true, "fragment2")],
  ),
  echoed(
    "5.3",
    "Send text Message fragmented into 2 fragments.",
    "Message is processed and echo'ed back to us.",
    twoFragments({}),
    [message(utf8("fragment1fragment2"))],
  ),
  echoed(
    "5.4",
    "Send text Message fragmented into 2 fragments, octets are sent in frame-wise chops.",
    "Message is processed and echo'ed back to us.",
    twoFragments({ sync: true }),
    [message(utf8("fragment1fragment2"))],
  ),
  echoed(
    "5.5",
    "Send text Message fragmented into 2 fragments, octets are sent in octet-wise chops.",
    "Message is processed and echo'ed back to us.",
    twoFragments({ chop: 1 }),
    [message(utf8("fragment1fragment2"))],
  ),
  echoed(
    "5.6",
    "Send text Message fragmented into 2 fragments, one ping with payload in-between.",
    "A pong is received, then the message is echo'ed back to us.",
    pingBetween({}),
    [pong(utf8("ping payload")), message(utf8("fragment1fragment2"))],
  ),
  echoed(
    "5.7",
    "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in frame-wise chops.",
    "A pong is received, then the message is echo'ed back to us.",
    pingBetween({ sync: true }),
    [pong(utf8("ping payload")), message(utf8("fragment1fragment2"))],
  ),
  echoed(
    "5.8",
    "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in octet-wise chops.",
    "A pong is received, then the message is echo'ed back to us.",
    pingBetween({ chop: 1 }),
    [pong(utf8("ping payload")), message(utf8("fragment1fragment2"))],
  ),
  failing(
    "5.9",
    "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in one chop.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(true, {}),
  ),
  failing(
    "5.10",
    "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in per-frame chops.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(true, { sync: true }),
  ),
  failing(
    "5.11",
    "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in octet-wise chops.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(true, { chop: 1 }),
  ),
  failing(
    "5.12",
    "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in one chop.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(false, {}),
  ),
  failing(
    "5.13",
    "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in per-frame chops.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(false, { sync: true }),
  ),
  failing(
    "5.14",
    "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in octet-wise chops.",
    NOTHING_TO_CONTINUE,
    nothingToContinue(false, { chop: 1 }),
  ),
  {
    id: "5.15",
    description:
      "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.",
    expectation: NOTHING_TO_CONTINUE,
    steps: [
      fragment(TEXT, false, "fragment1"),
      fragment(CONTINUATION, true, "fragment2"),
      fragment(CONTINUATION, false, "fragment3"),
      fragment(TEXT, true, "fragment4"),
    ],
    expected: { OK: [message(utf8("fragment1fragment2"))], "NON-STRICT": [] },
    close: FAILED_BY_SERVER,
    deadline: { after: "kill", ms: 1_000 },
  },
  failing(
    "5.16",
    "Repeated 2x: Continuation Frame with FIN = false (where there is nothing to continue), then text Message fragmented into 2 fragments.",
    NOTHING_TO_CONTINUE,
    repeated(false),
  ),
  failing(
    "5.17",
    "Repeated 2x: Continuation Frame with FIN = true (where there is nothing to continue), then text Message fragmented into 2 fragments.",
    NOTHING_TO_CONTINUE,
    repeated(true),
  ),
  failing(
    "5.18",
    "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
    "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
    [fragment(TEXT, false, "fragment1"), fragment(TEXT, true, "fragment2")],
  ),
  pingsInFragments(
    "5.19",
    false,
    "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.",
    "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
  ),
  pingsInFragments(
    "5.20",
    true,
    "Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire.",
    "Same as Case 5.19. Implementations must be agnostic to how octet stream is chopped up on wire (must be TCP clean).",
  ),
];

// 7 The closing handshake (§5.5.1, §7): what may follow a Close, its payload, and its codes.
const κόσμε_invalid = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
function closing(
  id: string,
  description: string,
  expectation: string,
  steps: Step[],
  codes: number[],
  requireClean: boolean,
  expected: AutobahnCase["expected"]["OK"] = [],
): AutobahnCase {
  return {
    id,
    description,
    expectation,
    steps,
    expected: { OK: expected },
    close: { closedByMe: true, codes, requireClean },
    deadline: { after: "kill", ms: 1_000 },
    suppressClose: true,
    wrongCodeFails: true,
  };
}
const CLEAN = "Clean close with normal code.";
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
const closeCases: AutobahnCase[] = [
  {
    id: "7.1.1",
    description: "Send a message followed by a close frame",
    expectation: "Echoed message followed by clean close with normal code.",
    steps: [{ frame: { opcode: TEXT, payload: utf8("Hello World!") } }],
    expected: { OK: [message(utf8("Hello World!"))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "kill", ms: 1_000 },
    wrongCodeFails: true,
  },
  closing(
    "7.1.2",
    "Send two close frames",
    "Clean close with normal code. Second close frame ignored.",
    [{ close: { code: NORMAL } }, { frame: { opcode: CLOSE } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.1.3",
    "Send a ping after close message",
    "Clean close with normal code, no pong.",
    [{ close: { code: NORMAL } }, { frame: { opcode: PING } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.1.4",
    "Send text message after sending a close frame.",
    "Clean close with normal code. Text message ignored.",
    [{ close: { code: NORMAL } }, { frame: { opcode: TEXT, payload: utf8("Hello World!") } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.1.5",
    "Send message fragment1 followed by close then fragment",
    CLEAN,
    [
      fragment(TEXT, false, "fragment1"),
      { close: { code: NORMAL } },
      fragment(CONTINUATION, true, "fragment2"),
    ],
    [NORMAL],
    true,
  ),
  {
    id: "7.1.6",
    description: "Send 256K message followed by close then a ping",
    expectation:
      "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
    steps: [
      { frame: { opcode: TEXT, payload: utf8("BAsd7&jh23"), length: 256 * 1024 } },
      { frame: { opcode: TEXT, payload: utf8("Hello World!") } },
      { close: { code: NORMAL } },
      { frame: { opcode: PING } },
    ],
    expected: { OK: [message(utf8("Hello World!"))], "NON-STRICT": [] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "kill", ms: 1_000 },
    suppressClose: true,
    informational: true,
  },
  closing(
    "7.3.1",
    "Send a close frame with payload length 0 (no close code, no close reason)",
    CLEAN,
    [{ close: {} }],
    [NORMAL],
    true,
  ),
  closing(
    "7.3.2",
    "Send a close frame with payload length 1",
    "Clean close with protocol error or drop TCP.",
    [{ close: { reason: utf8("a") } }],
    [PROTOCOL_ERROR],
    false,
  ),
  closing(
    "7.3.3",
    "Send a close frame with payload length 2 (regular close with a code)",
    CLEAN,
    [{ close: { code: NORMAL } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.3.4",
    "Send a close frame with close code and close reason",
    CLEAN,
    [{ close: { code: NORMAL, reason: utf8("Hello World!") } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.3.5",
    "Send a close frame with close code and close reason of maximum length (123)",
    CLEAN,
    [{ close: { code: NORMAL, reason: utf8("*".repeat(123)) } }],
    [NORMAL],
    true,
  ),
  closing(
    "7.3.6",
    "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
    "Clean close with protocol error code or dropped TCP connection.",
    [{ close: { code: NORMAL, reason: utf8("*".repeat(124)) } }],
    [PROTOCOL_ERROR],
    false,
  ),
  closing(
    "7.5.1",
    "Send a close frame with invalid UTF8 payload",
    "Clean close with protocol error or invalid utf8 code or dropped TCP.",
    [{ close: { code: NORMAL, reason: κόσμε_invalid } }],
    [PROTOCOL_ERROR, INVALID_PAYLOAD],
    false,
  ),
  ...VALID_CODES.map((code, i) =>
    closing(
      `7.7.${i + 1}`,
      `Send close with valid close code ${code}`,
      "Clean close with normal or echoed code",
      [{ close: { code } }],
      [NORMAL, code],
      true,
    ),
  ),
  ...INVALID_CODES.map((code, i) =>
    closing(
      `7.9.${i + 1}`,
      `Send close with invalid close code ${code}`,
      "Clean close with protocol error code or drop TCP",
      [{ close: { code } }],
      [PROTOCOL_ERROR],
      false,
    ),
  ),
  ...[5000, 65535].map((code, i): AutobahnCase => ({
    id: `7.13.${i + 1}`,
    description: `Send close with close code ${code}`,
    expectation: "Actual events are undefined by the spec.",
    steps: [{ close: { code } }],
    expected: { OK: [] },
    close: { closedByMe: true, codes: [NORMAL, code, PROTOCOL_ERROR], requireClean: false },
    deadline: { after: "kill", ms: 1_000 },
    suppressClose: true,
    informational: true,
  })),
];

// 10 Autofragmentation: a 64 KiB message sent as frames of 1300 bytes comes back whole.
const autofragment: AutobahnCase[] = [
  {
    id: "10.1.1",
    description:
      "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
    expectation:
      "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
    steps: [{ message: Buffer.alloc(65536, 0x2a), fragmentSize: 1300 }],
    expected: { OK: [message(Buffer.alloc(65536, 0x2a))] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "kill", ms: 10_000 },
  },
];

/** Every case of the port, in Autobahn's order. */
export const CASES: readonly AutobahnCase[] = [
  ...framing("1.1", false),
  ...framing("1.2", true),
  ...pings,
  ...reservedBits,
  ...reservedOpcodes,
  ...fragments,
  ...utf8Cases(),
  ...closeCases,
  ...autofragment,
];

/** The group of a case id: "6.4.1" is in group 6. */
export function groupOf(id: string): string {
  return id.split(".")[0] as string;
}
