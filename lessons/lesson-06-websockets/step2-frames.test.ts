import { describe, expect, test } from "vitest";
import { WebSocketError } from "#lesson/lesson-06-websockets/errors.ts";
import {
  encodeFrame,
  FrameParser,
  OPCODE,
  type Frame,
  type FrameParserOptions,
} from "#lesson/lesson-06-websockets/frames.ts";
import { show } from "../../shared/testing/bytes.ts";
import { byteByByte, everySplit, feedAll, splitAt } from "../../shared/testing/chunks.ts";
import { codeOf } from "../../shared/testing/errors.ts";
import { frame, MASK, OP } from "./helpers.ts";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

// RFC 6455 §5.7, the examples as written there.
const RFC_TEXT_UNMASKED = hex("81 05 48 65 6c 6c 6f"); // "Hello"
const RFC_TEXT_MASKED = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"); // "Hello", masked
const RFC_FRAGMENTS = [hex("01 03 48 65 6c"), hex("80 02 6c 6f")]; // "Hel", "lo"
const RFC_PONG_MASKED = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"); // pong "Hello", masked

/** A parser that reads what a client sends (every frame masked), as a server does. */
function serverParser(options: Omit<FrameParserOptions, "role"> = {}): FrameParser {
  return new FrameParser({ role: "server", ...options });
}

/** What the parser should return, compared field by field. */
function summary(frames: Frame[]) {
  return frames.map((f) => ({
    fin: f.fin,
    opcode: f.opcode,
    payload: Buffer.from(f.payload).toString("hex"),
  }));
}

function fed(what: string, chunks: Buffer[]): string {
  return `${what}\n  fed: ${chunks.map((c) => show(c, 40)).join(" | ")}`;
}

/**
 * Feeds `bytes` to a fresh parser (a server's unless `options` says otherwise) and checks that it
 * refuses them with the WebSocketError `code` and the close code `closeCode`. A failure shows the
 * bytes fed and what was expected of them.
 */
function expectRefusal(
  bytes: Buffer,
  code: string,
  closeCode: number,
  options: FrameParserOptions = {},
  why = "",
): void {
  const what =
    `${why === "" ? "" : `${why}\n  `}fed: ${show(bytes, 60)}\n  expected: a WebSocketError ` +
    `${code}, the connection failed with close code ${closeCode}`;
  let threw = false;
  let error: unknown;
  try {
    new FrameParser({ role: "server", ...options }).feed(bytes);
  } catch (caught) {
    threw = true;
    error = caught;
  }
  if (codeOf(error) === "COURSE_NOT_IMPLEMENTED") throw error;
  if (!threw) throw new Error(`${what}\n  received: feed() returned without throwing`);
  expect(error, `${what}\n  received: ${String(error)}`).toBeInstanceOf(WebSocketError);
  expect(codeOf(error), what).toBe(code);
  expect((error as WebSocketError).closeCode, what).toBe(closeCode);
}

/** The error `feed` throws; if it throws none, a failure that says what was expected. */
function thrownFeeding(feed: () => unknown, what: string): unknown {
  try {
    feed();
  } catch (error) {
    return error;
  }
  throw new Error(`${what}\n  received: feed() returned without throwing`);
}

/** An opcode as the RFC writes it: 0xb, not 11. */
const hexOf = (n: number): string => `0x${n.toString(16)}`;

describe("Step 2: Frames", () => {
  test("reads the RFC's masked text frame: the payload comes out unmasked (§5.3, §5.7)", () => {
    const frames = serverParser().feed(RFC_TEXT_MASKED);
    expect(frames.length, fed("one whole frame", [RFC_TEXT_MASKED])).toBe(1);
    expect(
      frames[0]?.payload.toString("utf8"),
      "Each payload byte is XORed with mask[i % 4] (RFC 6455 §5.3): 7f 9f 4d 51 58 is Hello",
    ).toBe("Hello");
    expect(frames[0]).toMatchObject({ fin: true, opcode: OPCODE.TEXT, masked: true });
  });

  test("reads the RFC's masked pong frame (§5.7)", () => {
    const [pong] = serverParser().feed(RFC_PONG_MASKED);
    expect(pong?.opcode).toBe(OPCODE.PONG);
    expect(pong?.payload.toString()).toBe("Hello");
  });

  test("a client's parser reads the RFC's unmasked frames, fragments and all (§5.7)", () => {
    const parser = new FrameParser({ role: "client" });
    expect(summary(parser.feed(RFC_TEXT_UNMASKED))).toEqual([
      { fin: true, opcode: OPCODE.TEXT, payload: Buffer.from("Hello").toString("hex") },
    ]);
    expect(summary(feedAll(parser, RFC_FRAGMENTS))).toEqual([
      { fin: false, opcode: OPCODE.TEXT, payload: Buffer.from("Hel").toString("hex") },
      { fin: true, opcode: OPCODE.CONTINUATION, payload: Buffer.from("lo").toString("hex") },
    ]);
  });

  test("returns no frame until the last byte of one has come: need more bytes", () => {
    const parser = serverParser();
    const chunks = byteByByte(RFC_TEXT_MASKED);
    for (const chunk of chunks.slice(0, -1)) {
      expect(parser.feed(chunk), fed("a piece of a frame is not a frame", [chunk])).toEqual([]);
    }
    const last = parser.feed(chunks.at(-1) as Buffer);
    expect(last.map((f) => f.payload.toString())).toEqual(["Hello"]);
  });

  test("moves through its named states: header, length-16, mask-key, payload", () => {
    const bytes = frame({ opcode: OP.BINARY, payload: Buffer.alloc(200, 7) });
    const parser = serverParser();
    const states = [parser.state];
    for (const chunk of splitAt(bytes, 1, 2, 4, 8, 9)) {
      parser.feed(chunk);
      states.push(parser.state);
    }
    expect(
      states,
      "after 1 byte: header; 2: the 7-bit length said 126, so length-16; 4: mask-key; 8: payload",
    ).toEqual(["header", "header", "length-16", "mask-key", "payload", "payload", "header"]);
  });

  test("reads a 64-bit length: waits in length-64 until all 8 bytes are there", () => {
    const bytes = frame({ opcode: OP.BINARY, payload: Buffer.alloc(70_000, 3) });
    const parser = serverParser();
    parser.feed(bytes.subarray(0, 2));
    expect(parser.state, "a 7-bit length of 127 means 8 more length bytes").toBe("length-64");
    parser.feed(bytes.subarray(2, 9));
    expect(parser.state).toBe("length-64");
    parser.feed(bytes.subarray(9, 10));
    expect(parser.state, "all 8 length bytes are there: next, the mask").toBe("mask-key");
    const frames = parser.feed(bytes.subarray(10));
    expect(frames.map((f) => f.payload.length)).toEqual([70_000]);
  });

  test.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])(
    "reads a payload of %i bytes, with the length in 7, 16 or 64 bits",
    (size) => {
      const payload = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31) % 256));
      const bytes = frame({ opcode: OP.BINARY, payload });
      const [got] = serverParser().feed(bytes);
      expect(got?.payload.length, `a frame of ${size} bytes: ${show(bytes, 16)}...`).toBe(size);
      expect(got?.payload.equals(payload)).toBe(true);
    },
  );

  test("reads the same frames however the bytes are cut: at every split, 16- and 64-bit lengths", () => {
    const bytes = Buffer.concat([
      frame({ opcode: OP.TEXT, payload: "héllo" }),
      frame({ opcode: OP.BINARY, payload: Buffer.alloc(300, 9) }),
      frame({ opcode: OP.PING, payload: "" }),
    ]);
    const bigger = frame({ opcode: OP.BINARY, payload: Buffer.alloc(65_536, 1) });
    const whole = summary(serverParser().feed(bytes));
    expect(whole.length).toBe(3);
    for (const chunks of everySplit(bytes)) {
      expect(summary(feedAll(serverParser(), chunks)), fed("split in two", chunks)).toEqual(whole);
    }
    for (let at = 1; at <= 14; at++) {
      const chunks = splitAt(bigger, at);
      const frames = feedAll(serverParser(), chunks);
      expect(
        frames.map((f) => f.payload.length),
        fed(`split at ${at}`, chunks),
      ).toEqual([65_536]);
    }
  });

  test("reads frames fed one byte at a time", () => {
    const bytes = Buffer.concat([
      frame({ opcode: OP.TEXT, payload: "one" }),
      frame({ opcode: OP.BINARY, payload: Buffer.alloc(126, 2) }),
      frame({ opcode: OP.CLOSE, payload: Buffer.from([0x03, 0xe8]) }),
    ]);
    const frames = feedAll(serverParser(), byteByByte(bytes));
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([
      [OPCODE.TEXT, 3],
      [OPCODE.BINARY, 126],
      [OPCODE.CLOSE, 2],
    ]);
  });

  test("reads thousands of frames that arrive in one chunk", () => {
    const sizes = Array.from({ length: 3000 }, (_, i) => [0, 1, 5, 125, 126, 300][i % 6] as number);
    const bytes = Buffer.concat(
      sizes.map((size, i) => frame({ opcode: OP.BINARY, payload: Buffer.alloc(size, i % 256) })),
    );
    const frames = serverParser().feed(bytes);
    expect(frames.length, "every frame of the chunk, not just the first").toBe(3000);
    expect(frames.map((f) => f.payload.length)).toEqual(sizes);
    expect(frames[2999]?.payload[0]).toBe(2999 % 256);
  });

  test("leaves the bytes it was given as they were (it unmasks into a new buffer)", () => {
    const bytes = Buffer.from(RFC_TEXT_MASKED);
    serverParser().feed(bytes);
    expect(bytes.equals(RFC_TEXT_MASKED), show(bytes)).toBe(true);
  });

  test("refuses an unmasked frame from a client with 1002 (§5.1)", () => {
    expectRefusal(
      RFC_TEXT_UNMASKED,
      "WS_UNMASKED_FRAME",
      1002,
      {},
      "A server MUST close the connection on an unmasked frame (the MASK bit, 0x80 of the second byte, is 0)",
    );
  });

  test("a client's parser refuses a masked frame from a server with 1002 (§5.1)", () => {
    expectRefusal(
      RFC_TEXT_MASKED,
      "WS_MASKED_FRAME",
      1002,
      { role: "client" },
      "A client MUST close the connection on a masked frame from the server",
    );
  });

  test.each([1, 2, 4, 7])(
    "refuses RSV bits %i without a negotiated extension with 1002 (§5.2)",
    (rsv) => {
      expectRefusal(
        frame({ opcode: OP.TEXT, rsv, payload: "x" }),
        "WS_RESERVED_BITS",
        1002,
        {},
        "RSV1, RSV2 and RSV3 (0x40, 0x20, 0x10 of the first byte) MUST be 0: no extension was negotiated",
      );
    },
  );

  test.each([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => [hexOf(opcode), opcode]))(
    "refuses the reserved opcode %s with 1002 (§5.2)",
    (name, opcode) => {
      expectRefusal(
        frame({ opcode, payload: "x" }),
        "WS_RESERVED_OPCODE",
        1002,
        {},
        `Opcode ${name} is reserved: 0x3-0x7 for data frames, 0xb-0xf for control frames`,
      );
    },
  );

  test("refuses a control frame with more than 125 bytes with 1002 (§5.5)", () => {
    expectRefusal(
      frame({ opcode: OP.PING, payload: Buffer.alloc(126) }),
      "WS_CONTROL_FRAME_TOO_LONG",
      1002,
      {},
      "All control frames MUST have a payload length of 125 bytes or less",
    );
    const ok = serverParser().feed(frame({ opcode: OP.PING, payload: Buffer.alloc(125) }));
    expect(ok.length, "125 bytes is still a valid control frame").toBe(1);
  });

  test.each([OP.CLOSE, OP.PING, OP.PONG].map((opcode) => [hexOf(opcode), opcode]))(
    "refuses a fragmented control frame (opcode %s) with 1002 (§5.5)",
    (_name, opcode) => {
      expectRefusal(
        frame({ opcode, fin: false, payload: "x" }),
        "WS_FRAGMENTED_CONTROL_FRAME",
        1002,
        {},
        "Control frames MUST NOT be fragmented: FIN is 0 here",
      );
    },
  );

  test("refuses a 64-bit length with its top bit set with 1002 (§5.2)", () => {
    expectRefusal(
      frame({ opcode: OP.BINARY, length64: 1n << 63n }),
      "WS_BAD_LENGTH",
      1002,
      {},
      "In a 64-bit length, the most significant bit MUST be 0: read all 8 bytes, the high ones first",
    );
  });

  test("refuses a 64-bit length above 2^53 - 1 with 1009, and waits for one of 2^53 - 1", () => {
    const huge = { maxPayloadBytes: Number.MAX_SAFE_INTEGER };
    expectRefusal(
      frame({ opcode: OP.BINARY, length64: 2n ** 53n }),
      "WS_LENGTH_TOO_LARGE",
      1009,
      huge,
      "2^53 cannot be counted exactly in a JavaScript number, whatever the cap",
    );
    const parser = serverParser(huge);
    expect(parser.feed(frame({ opcode: OP.BINARY, length64: 2n ** 53n - 1n }))).toEqual([]);
    expect(
      parser.state,
      "2^53 - 1 is a length the parser can count: it waits for the payload",
    ).toBe("payload");
  });

  test("reads all 8 bytes of a 64-bit length, the high 4 too: 2^32 + 5 is not 5", () => {
    const parser = serverParser({ maxPayloadBytes: Number.MAX_SAFE_INTEGER });
    const head = frame({
      opcode: OP.BINARY,
      length64: 2n ** 32n + 5n,
      payload: Buffer.alloc(5, 1),
    });
    const frames = parser.feed(head);
    expect(
      frames,
      "The 64-bit length is big-endian: high 32 bits, then low 32 bits. Read as 32 bits, 2^32 + 5 looks like 5.",
    ).toEqual([]);
    expect(parser.state).toBe("payload");
  });

  test("refuses a frame over its payload cap with 1009, from its header alone", () => {
    const bytes = frame({ opcode: OP.BINARY, payload: Buffer.alloc(11) });
    expectRefusal(
      bytes.subarray(0, 2),
      "WS_PAYLOAD_TOO_LARGE",
      1009,
      { maxPayloadBytes: 10 },
      "The first 2 bytes of an 11-byte frame, with a cap of 10: the length is known from the " +
        "header, so refuse before buffering the payload",
    );
    expect(
      serverParser({ maxPayloadBytes: 10 }).feed(
        frame({ opcode: OP.BINARY, payload: Buffer.alloc(10) }),
      ).length,
    ).toBe(1);
  });

  test("keeps the frames completed before a bad one in the same chunk, and stays failed", () => {
    const good = frame({ opcode: OP.TEXT, payload: "fine" });
    const bytes = Buffer.concat([good, frame({ opcode: 5 })]);
    const parser = serverParser();
    const error = thrownFeeding(
      () => parser.feed(bytes),
      `fed: ${show(bytes)}\n  expected: the text frame, then a WebSocketError WS_RESERVED_OPCODE for opcode 0x5`,
    );
    if (codeOf(error) === "COURSE_NOT_IMPLEMENTED") throw error;
    expect(codeOf(error)).toBe("WS_RESERVED_OPCODE");
    expect(parser.completedBeforeError.map((f) => f.payload.toString())).toEqual(["fine"]);
    expect(
      codeOf(
        thrownFeeding(
          () => parser.feed(good),
          `fed, after the failure: ${show(good)}\n  expected: the same WebSocketError again: a failed connection reads no more frames`,
        ),
      ),
      "a failed connection reads no more frames",
    ).toBe("WS_RESERVED_OPCODE");
  });

  test("encodes the RFC's unmasked text frame: a server never masks (§5.1, §5.7)", () => {
    const bytes = encodeFrame({ opcode: OPCODE.TEXT, payload: Buffer.from("Hello") });
    expect(show(bytes), "81 05 48 65 6c 6c 6f: FIN, text, MASK 0, length 5").toBe(
      show(RFC_TEXT_UNMASKED),
    );
  });

  test("encodes a client's masked frame as the RFC does", () => {
    const bytes = encodeFrame({ opcode: OPCODE.TEXT, payload: Buffer.from("Hello"), mask: MASK });
    expect(show(bytes)).toBe(show(RFC_TEXT_MASKED));
  });

  test("encodes a client's masked frame with a 16- or 64-bit length: the key after the length", () => {
    for (const size of [200, 70_000]) {
      const payload = Buffer.from(Array.from({ length: size }, (_, i) => i % 256));
      const bytes = encodeFrame({ opcode: OPCODE.BINARY, payload, mask: MASK });
      const [got] = serverParser().feed(bytes);
      expect(
        got?.payload.equals(payload),
        `a masked frame of ${size} bytes: ${show(bytes, 20)}`,
      ).toBe(true);
    }
  });

  test("encodes a fragment with FIN 0", () => {
    const bytes = encodeFrame({ fin: false, opcode: OPCODE.TEXT, payload: Buffer.from("Hel") });
    expect(show(bytes)).toBe(show(RFC_FRAGMENTS[0] as Buffer));
  });

  test.each([
    [125, "7d", 2],
    [126, "7e007e", 4],
    [65_535, "7effff", 4],
    [65_536, "7f0000000000010000", 10],
  ])("encodes a %i-byte payload with the shortest length field (§5.2)", (size, length, head) => {
    const bytes = encodeFrame({ opcode: OPCODE.BINARY, payload: Buffer.alloc(size, 1) });
    expect(
      bytes.subarray(1, head).toString("hex"),
      `126 means a 16-bit length, 127 a 64-bit one`,
    ).toBe(length);
    expect(bytes.length).toBe(head + size);
  });

  test("what the encoder writes, a client's parser reads back", () => {
    const payloads = [0, 1, 125, 126, 65_535, 65_536].map((n) => Buffer.alloc(n, n % 251));
    const bytes = Buffer.concat(
      payloads.map((payload) => encodeFrame({ opcode: OPCODE.BINARY, payload })),
    );
    const frames = new FrameParser({ role: "client" }).feed(bytes);
    expect(frames.map((f) => f.payload.length)).toEqual(payloads.map((p) => p.length));
  });
});
