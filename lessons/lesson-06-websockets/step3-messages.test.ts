import { once } from "node:events";
import { beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { createEchoServer, type EchoOptions } from "#lesson/lesson-06-websockets/echo.ts";
import { WebSocketError } from "#lesson/lesson-06-websockets/errors.ts";
import type { Frame } from "#lesson/lesson-06-websockets/frames.ts";
import {
  closePayload,
  MessageReader,
  parseClosePayload,
  type Incoming,
  type MessageOptions,
} from "#lesson/lesson-06-websockets/messages.ts";
import { browser, describeWithBrowser } from "../../shared/testing/browser.ts";
import { show } from "../../shared/testing/bytes.ts";
import { byteByByte } from "../../shared/testing/chunks.ts";
import { codeOf } from "../../shared/testing/errors.ts";
import { within } from "../../shared/testing/patience.ts";
import { exchange, nextConnection } from "../../shared/testing/raw.ts";
import {
  answered,
  closeCodeOf,
  closeFrame,
  describeFrame,
  frame,
  OP,
  Peer,
  responseHead,
  serve,
  type Served,
  type ServerFrame,
} from "./helpers.ts";

/** A frame as the server's frame parser hands it to the message reader. */
function f(opcode: number, payload: Buffer | string, fin = true): Frame {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return { fin, opcode: opcode as Frame["opcode"], masked: true, payload: bytes };
}

/** Pushes frames in order and returns what each one completed. */
function pushAll(frames: Frame[], options?: MessageOptions): (Incoming | undefined)[] {
  const reader = new MessageReader(options);
  return frames.map((one) => reader.push(one));
}

/** Frames as a failure message lists them: `text FIN=0 "Hel" | continuation FIN=1 "lo"`. */
function listed(frames: Frame[]): string {
  const names: Record<number, string> = {
    [OP.CONTINUATION]: "continuation",
    [OP.TEXT]: "text",
    [OP.BINARY]: "binary",
    [OP.CLOSE]: "close",
    [OP.PING]: "ping",
    [OP.PONG]: "pong",
  };
  return frames
    .map(
      (one) => `${names[one.opcode] ?? one.opcode} FIN=${one.fin ? 1 : 0} ${show(one.payload, 40)}`,
    )
    .join(" | ");
}

/**
 * The WebSocketError `fn` throws, checked to be one. `fed` says what it was given and `expected`
 * what it should throw, for the failure message when it throws nothing.
 */
function refusal(fn: () => unknown, fed: string, expected: string): WebSocketError {
  let threw = false;
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    threw = true;
    error = caught;
  }
  if (codeOf(error) === "COURSE_NOT_IMPLEMENTED") throw error;
  const what = `fed: ${fed}\n  expected: a WebSocketError ${expected}`;
  if (!threw) throw new Error(`${what}\n  received: no error at all`);
  expect(error, `${what}\n  received: ${String(error)}`).toBeInstanceOf(WebSocketError);
  return error as WebSocketError;
}

/** The frames pushed in order must be refused with `code` and `closeCode`. */
function expectRefused(
  frames: Frame[],
  code: string,
  closeCode: number,
  options?: MessageOptions,
  why = "",
): void {
  const expected = `${code}, failing the connection with close ${closeCode}${why === "" ? "" : `: ${why}`}`;
  const error = refusal(() => pushAll(frames, options), listed(frames), expected);
  expect(codeOf(error), `${listed(frames)}: expected ${expected}`).toBe(code);
  expect(error.closeCode, `${listed(frames)}: expected ${expected}`).toBe(closeCode);
}

/** A close frame's payload must be refused with `code` and `closeCode`. */
function expectCloseRefused(payload: Buffer, code: string, closeCode: number): void {
  const fed = `the close payload ${show(payload)}`;
  const expected = `${code}, failing the connection with close ${closeCode}`;
  const error = refusal(() => parseClosePayload(payload), fed, expected);
  expect(codeOf(error), `${fed}: expected ${expected}`).toBe(code);
  expect(error.closeCode, `${fed}: expected ${expected}`).toBe(closeCode);
}

/** More than a client's receive buffer and the server's send buffer hold, on any system. */
const FLOOD_LIMIT = 32 * 1024 * 1024;

function live(options?: EchoOptions): Promise<Served> {
  return serve(createEchoServer(options));
}

/** The one frame expected, described in the failure if it is not there. */
function only(frames: ServerFrame[], what: string): ServerFrame {
  expect(frames.length, `${what}: ${frames.map(describeFrame).join("; ")}`).toBeGreaterThan(0);
  return frames[0] as ServerFrame;
}

/** Sends `bytes` after the handshake, waits for the server's close frame and its FIN. */
async function closedWith(served: Served, bytes: Buffer | Buffer[], expected: number) {
  const peer = await Peer.open(served);
  await peer.send(...[bytes].flat());
  const frames = await peer.untilClose(`a close frame with code ${expected}`);
  const close = frames.find((one) => one.opcode === OP.CLOSE);
  expect(closeCodeOf(close), peer.explain(`a close frame with code ${expected}`)).toBe(expected);
  await peer.untilTcpClosed(
    "the server to close the TCP connection after failing the WebSocket (RFC 6455 §7.1.7)",
  );
  return frames;
}

describe("Step 3: Messages, control frames and the closing handshake", () => {
  describe("messages out of frames", () => {
    test("a text frame with FIN set is a whole message", () => {
      const [got] = pushAll([f(OP.TEXT, "Hello")]);
      expect(got).toEqual({ kind: "message", message: { type: "text", data: "Hello" } });
    });

    test("joins a fragmented message: first frame, continuations, FIN on the last (§5.4)", () => {
      const got = pushAll([
        f(OP.TEXT, "Hel", false),
        f(OP.CONTINUATION, "lo, ", false),
        f(OP.CONTINUATION, "world"),
      ]);
      expect(got.slice(0, 2), "a fragment is not a message yet").toEqual([undefined, undefined]);
      expect(got[2]).toEqual({ kind: "message", message: { type: "text", data: "Hello, world" } });
    });

    test("joins a fragmented binary message into one Buffer", () => {
      const got = pushAll([
        f(OP.BINARY, Buffer.from([1, 2]), false),
        f(OP.CONTINUATION, Buffer.from([3])),
      ]);
      const message = got[1];
      expect(message?.kind).toBe("message");
      expect(
        message?.kind === "message" &&
          message.message.type === "binary" && [...message.message.data],
      ).toEqual([1, 2, 3]);
    });

    test("hands over a control frame that arrives between fragments, and goes on (§5.4)", () => {
      const got = pushAll([
        f(OP.TEXT, "Hel", false),
        f(OP.PING, "are you there"),
        f(OP.CONTINUATION, "lo"),
      ]);
      expect(got[1]).toEqual({ kind: "ping", payload: Buffer.from("are you there") });
      expect(got[2]).toEqual({ kind: "message", message: { type: "text", data: "Hello" } });
    });

    test("decodes a UTF-8 character split across fragments whole (§8.1)", () => {
      const euro = Buffer.from("€", "utf8"); // e2 82 ac
      const smile = Buffer.from("😀", "utf8"); // f0 9f 98 80
      const got = pushAll([
        f(OP.TEXT, euro.subarray(0, 1), false),
        f(OP.CONTINUATION, Buffer.concat([euro.subarray(1), smile.subarray(0, 1)]), false),
        f(OP.CONTINUATION, smile.subarray(1, 3), false),
        f(OP.CONTINUATION, smile.subarray(3)),
      ]);
      expect(
        got.at(-1),
        "Decoding each fragment alone breaks a character cut between two: decode the message's bytes as one stream",
      ).toEqual({ kind: "message", message: { type: "text", data: "€😀" } });
    });

    test.each([
      ["a lone continuation byte", [0x80]],
      ["an overlong encoding of '/'", [0xc0, 0xaf]],
      ["a UTF-16 surrogate", [0xed, 0xa0, 0x80]],
      ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
      ["a character cut off at the end of the message", [0x48, 0xe2, 0x82]],
    ])("refuses text with %s with 1007 (§8.1)", (_name, bytes) => {
      expectRefused([f(OP.TEXT, Buffer.from(bytes))], "WS_INVALID_UTF8", 1007);
    });

    test("refuses a fragmented text message whose first fragment is not UTF-8 with 1007 (at once or at its end)", () => {
      expectRefused(
        [f(OP.TEXT, Buffer.from([0x61, 0xff]), false), f(OP.CONTINUATION, "b")],
        "WS_INVALID_UTF8",
        1007,
      );
    });

    test("accepts any bytes in a binary message: only text must be UTF-8", () => {
      const [got] = pushAll([f(OP.BINARY, Buffer.from([0xff, 0xfe, 0x80]))]);
      expect(got?.kind).toBe("message");
    });

    test("refuses a continuation with no message to continue with 1002 (§5.4)", () => {
      expectRefused([f(OP.CONTINUATION, "x")], "WS_UNEXPECTED_CONTINUATION", 1002);
    });

    test("refuses a new message inside a fragmented one with 1002 (§5.4)", () => {
      expectRefused([f(OP.TEXT, "a", false), f(OP.BINARY, "b")], "WS_EXPECTED_CONTINUATION", 1002);
    });

    test("refuses a message of more fragments than its cap with 1009", () => {
      const frames = [
        f(OP.TEXT, "a", false),
        f(OP.CONTINUATION, "b", false),
        f(OP.CONTINUATION, "c", false),
      ];
      expectRefused(
        frames,
        "WS_TOO_MANY_FRAGMENTS",
        1009,
        { maxFragments: 2 },
        "maxFragments is 2",
      );
      expect(
        pushAll([f(OP.TEXT, "a", false), f(OP.CONTINUATION, "b")], { maxFragments: 2 })[1]?.kind,
      ).toBe("message");
    });

    test("refuses a message whose fragments together are over its cap with 1009", () => {
      const frames = [f(OP.BINARY, Buffer.alloc(6), false), f(OP.CONTINUATION, Buffer.alloc(5))];
      expectRefused(
        frames,
        "WS_PAYLOAD_TOO_LARGE",
        1009,
        { maxMessageBytes: 10 },
        "maxMessageBytes is 10, and the cap is on the whole message, every fragment counted",
      );
    });

    test("hands over a pong as a pong, and names its state: between, then text, then between", () => {
      const reader = new MessageReader();
      expect(reader.push(f(OP.PONG, "beat"))).toEqual({
        kind: "pong",
        payload: Buffer.from("beat"),
      });
      expect(reader.state).toBe("between");
      reader.push(f(OP.TEXT, "a", false));
      expect(reader.state, "inside a fragmented text message").toBe("text");
      reader.push(f(OP.CONTINUATION, "b"));
      expect(reader.state).toBe("between");
    });

    test("accepts a message of exactly maxMessageBytes", () => {
      const frames = [f(OP.BINARY, Buffer.alloc(6), false), f(OP.CONTINUATION, Buffer.alloc(4))];
      expect(pushAll(frames, { maxMessageBytes: 10 })[1]?.kind).toBe("message");
    });

    test("starts afresh after a message: the next one is not joined to it", () => {
      const got = pushAll([f(OP.TEXT, "a", false), f(OP.CONTINUATION, "b"), f(OP.TEXT, "c")]);
      expect(got[2]).toEqual({ kind: "message", message: { type: "text", data: "c" } });
    });

    test("reads a close frame: empty, or a 2-byte code and a UTF-8 reason (§5.5.1)", () => {
      expect(parseClosePayload(Buffer.alloc(0))).toEqual({ code: undefined, reason: "" });
      expect(parseClosePayload(closePayload(4000, "bye ✓"))).toEqual({
        code: 4000,
        reason: "bye ✓",
      });
      expect(closePayload(1000).toString("hex"), "the code in network byte order").toBe("03e8");
    });

    test("refuses a 1-byte close payload with 1002", () => {
      expectCloseRefused(Buffer.from([0x03]), "WS_BAD_CLOSE_PAYLOAD", 1002);
    });

    test.each([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])(
      "refuses the close code %i with 1002 (§7.4)",
      (code) => {
        expectCloseRefused(closePayload(code), "WS_BAD_CLOSE_CODE", 1002);
      },
    );

    test.each([
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 3999, 4000, 4999,
    ])("accepts the close code %i", (code) => {
      expect(parseClosePayload(closePayload(code)).code).toBe(code);
    });

    test("refuses a close reason that is not UTF-8 with 1007", () => {
      expectCloseRefused(Buffer.from([0x03, 0xe8, 0xff]), "WS_BAD_CLOSE_REASON", 1007);
    });
  });

  describe("the echo server", () => {
    test("echoes a text message as one unmasked text frame, byte for byte", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      const text = "héllo wörld, ünïcödé 😀";
      await peer.send(frame({ opcode: OP.TEXT, payload: text }));
      const echo = only(await peer.until(1, "the echo of the text message"), "one frame");
      expect(echo.opcode, describeFrame(echo)).toBe(OP.TEXT);
      expect(echo.fin).toBe(true);
      expect(echo.masked, "A server MUST NOT mask the frames it sends (RFC 6455 §5.1)").toBe(false);
      expect(
        echo.payload.toString("utf8"),
        `${describeFrame(echo)}: the length is the payload's bytes (Buffer.byteLength), not the string's length`,
      ).toBe(text);
    });

    test("echoes a binary message as binary, at 0, 125, 126, 65,535 and 70,000 bytes", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      const sizes = [0, 125, 126, 65_535, 70_000];
      const payloads = sizes.map((n) =>
        Buffer.from(Array.from({ length: n }, (_, i) => (i * 13) % 256)),
      );
      await peer.send(...payloads.map((payload) => frame({ opcode: OP.BINARY, payload })));
      const frames = await peer.until(sizes.length, `${sizes.length} binary echoes`);
      expect(
        frames.map((one) => [one.opcode, one.payload.length]),
        peer.explain(
          `${sizes.length} binary frames (opcode 2) of ${sizes.join(", ")} bytes, one echo per message`,
        ),
      ).toEqual(sizes.map((n) => [OP.BINARY, n]));
      frames.forEach((one, i) =>
        expect(one.payload.equals(payloads[i] as Buffer), `message ${i}`).toBe(true),
      );
    });

    test("echoes a fragmented message as one message of the same type", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(
        frame({ opcode: OP.TEXT, fin: false, payload: "Hel" }),
        frame({ opcode: OP.CONTINUATION, fin: false, payload: "lo, " }),
        frame({ opcode: OP.CONTINUATION, payload: "world" }),
      );
      const echo = only(await peer.until(1, "the echo of the fragmented message"), "one frame");
      expect({ opcode: echo.opcode, fin: echo.fin, text: echo.payload.toString() }).toEqual({
        opcode: OP.TEXT,
        fin: true,
        text: "Hello, world",
      });
    });

    test("echoes a character split across fragments whole", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      const bytes = Buffer.from("ßü€", "utf8");
      await peer.send(
        frame({ opcode: OP.TEXT, fin: false, payload: bytes.subarray(0, 1) }),
        frame({ opcode: OP.CONTINUATION, fin: false, payload: bytes.subarray(1, 5) }),
        frame({ opcode: OP.CONTINUATION, payload: bytes.subarray(5) }),
      );
      const echo = only(await peer.until(1, "the echo"), "one frame");
      expect(echo.payload.toString("utf8"), describeFrame(echo)).toBe("ßü€");
    });

    test("answers a ping with a pong of the same payload (§5.5.3)", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(
        frame({ opcode: OP.PING, payload: "are you there?" }),
        frame({ opcode: OP.PING }),
      );
      const frames = await peer.until(2, "two pongs");
      expect(
        frames.map((one) => [one.opcode, one.payload.toString()]),
        peer.explain(
          "two pongs (opcode 0xa): a pong carries the ping's Application data, unchanged",
        ),
      ).toEqual([
        [OP.PONG, "are you there?"],
        [OP.PONG, ""],
      ]);
    });

    test("answers a ping between fragments at once, then echoes the message", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(
        frame({ opcode: OP.TEXT, fin: false, payload: "frag" }),
        frame({ opcode: OP.PING, payload: "p" }),
        frame({ opcode: OP.CONTINUATION, payload: "ments" }),
      );
      const frames = await peer.until(2, "the pong, then the echo");
      expect(
        frames.map((one) => [one.opcode, one.payload.toString()]),
        peer.explain("a pong with the ping's payload, then the text message, echoed whole"),
      ).toEqual([
        [OP.PONG, "p"],
        [OP.TEXT, "fragments"],
      ]);
    });

    test("ignores an unsolicited pong (§5.5.3)", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(
        frame({ opcode: OP.PONG, payload: "nobody asked" }),
        frame({ opcode: OP.TEXT, payload: "next" }),
      );
      const first = only(await peer.until(1, "the echo of the text after the pong"), "a frame");
      expect(
        [first.opcode, first.payload.toString()],
        peer.explain("the echo of the text message only: a pong needs no answer"),
      ).toEqual([OP.TEXT, "next"]);
    });

    test("reads the first frame from the bytes that came with the handshake, after its empty line", async () => {
      const served = await live();
      const peer = await Peer.open(served, frame({ opcode: OP.TEXT, payload: "early" }));
      const echo = only(
        await peer.until(1, "the echo of the frame sent in the same write as the request"),
        "a frame",
      );
      expect(echo.payload.toString()).toBe("early");
    });

    test("echoes a frame that arrives one byte at a time", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(...byteByByte(frame({ opcode: OP.TEXT, payload: Buffer.alloc(130, "a") })));
      const echo = only(
        await peer.until(1, "the echo, once the frame's last byte has come"),
        "a frame",
      );
      expect(echo.payload.length).toBe(130);
    });

    test("echoes the peer's close code, then closes the TCP connection (§5.5.1, §7.1.1)", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(closeFrame(4000, "bye"));
      const frames = await peer.untilClose("a close frame in answer");
      const close = frames.find((one) => one.opcode === OP.CLOSE);
      expect(closeCodeOf(close), `echo the code received: ${peer.transcript()}`).toBe(4000);
      await peer.untilTcpClosed(
        "the server's FIN after the closing handshake: the server closes TCP first (§7.1.1)",
      );
    });

    test("answers a close with code 1000 with 1000, and an empty close with an empty one", async () => {
      const served = await live();
      const normal = await Peer.open(served);
      await normal.send(closeFrame(1000));
      expect(closeCodeOf((await normal.untilClose("a close frame")).at(-1))).toBe(1000);
      const empty = await Peer.open(served);
      await empty.send(closeFrame());
      const answer = (await empty.untilClose("a close frame")).at(-1);
      expect(answer?.payload.length, "no code received, none to echo").toBe(0);
    });

    test("sends nothing after its close frame: a message after the close is not echoed", async () => {
      const served = await live();
      const peer = await Peer.open(served);
      await peer.send(
        Buffer.concat([closeFrame(1000), frame({ opcode: OP.TEXT, payload: "too late" })]),
      );
      await peer.untilTcpClosed("the closing handshake, then the server's FIN");
      expect(
        peer.frames().map((one) => one.opcode),
        peer.explain(
          "the close frame alone: after a close frame, an endpoint sends no more data frames (§5.5.1)",
        ),
      ).toEqual([OP.CLOSE]);
    });

    test.each([
      ["an unmasked frame", 1002, frame({ opcode: OP.TEXT, payload: "x", masked: false })],
      ["a reserved opcode", 1002, frame({ opcode: 3 })],
      ["an RSV bit", 1002, frame({ opcode: OP.TEXT, rsv: 4, payload: "x" })],
      ["a ping of 126 bytes", 1002, frame({ opcode: OP.PING, payload: Buffer.alloc(126) })],
      ["a fragmented ping", 1002, frame({ opcode: OP.PING, fin: false })],
      ["a lone continuation", 1002, frame({ opcode: OP.CONTINUATION, payload: "x" })],
      [
        "text that is not UTF-8",
        1007,
        frame({ opcode: OP.TEXT, payload: Buffer.from([0xce, 0xba, 0xff]) }),
      ],
      ["a 1-byte close payload", 1002, frame({ opcode: OP.CLOSE, payload: Buffer.from([3]) })],
      ["the close code 1005", 1002, closeFrame(1005)],
      [
        "a close reason that is not UTF-8",
        1007,
        frame({ opcode: OP.CLOSE, payload: Buffer.from([3, 0xe8, 0xff]) }),
      ],
      ["a 64-bit length above 2^53 - 1", 1009, frame({ opcode: OP.BINARY, length64: 2n ** 53n })],
    ])("fails the connection on %s with close %i, then closes TCP", async (_name, code, bytes) => {
      const served = await live();
      await closedWith(served, bytes, code);
    });

    test("fails a message over maxMessageBytes with 1009, fragments counted together", async () => {
      const served = await live({ maxMessageBytes: 100 });
      await closedWith(served, frame({ opcode: OP.BINARY, payload: Buffer.alloc(101) }), 1009);
      await closedWith(
        served,
        [
          frame({ opcode: OP.BINARY, fin: false, payload: Buffer.alloc(60) }),
          frame({ opcode: OP.CONTINUATION, payload: Buffer.alloc(60) }),
        ],
        1009,
      );
    });

    test("fails a message of more than maxFragments frames with 1009", async () => {
      const served = await live({ maxFragments: 3 });
      const frames = [
        frame({ opcode: OP.TEXT, fin: false, payload: "a" }),
        ...Array.from({ length: 3 }, () =>
          frame({ opcode: OP.CONTINUATION, fin: false, payload: "b" }),
        ),
      ];
      await closedWith(served, frames, 1009);
    });

    test("echoes the messages before a bad frame in the same write, then fails", async () => {
      const served = await live();
      const frames = await closedWith(
        served,
        Buffer.concat([frame({ opcode: OP.TEXT, payload: "first" }), frame({ opcode: 5 })]),
        1002,
      );
      expect(
        frames.map((one) => one.opcode),
        "the good message is whole: echo it (opcode 1), then fail (close, opcode 8)",
      ).toEqual([OP.TEXT, OP.CLOSE]);
    });

    test("goes on serving other clients after failing one", async () => {
      const served = await live();
      await closedWith(served, frame({ opcode: OP.TEXT, payload: "x", masked: false }), 1002);
      const other = await Peer.open(served);
      await other.send(frame({ opcode: OP.TEXT, payload: "still here" }));
      expect((await other.until(1, "an echo on another connection"))[0]?.payload.toString()).toBe(
        "still here",
      );
    });

    test("goes on serving after a client resets its connection in the middle of a frame", async () => {
      const server = createEchoServer();
      const served = await serve(server);
      const accepted = nextConnection(server);
      const first = await Peer.open(served);
      const socket = await within(accepted, "the server to accept the connection");
      // With no "error" listener on the socket, Node throws the error, and the process dies with
      // every other client's connection.
      const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      expect(
        () => socket.emit("error", reset),
        "A client reset its WebSocket: the server's socket emitted an error that nothing " +
          'handled, which crashes the whole server. Listen for the socket\'s "error" event ' +
          '(a "close" follows it)',
      ).not.toThrow();
      first.client.socket.destroy();
      // A real reset, half-way through a frame.
      const nextAccepted = nextConnection(server);
      const rude = await Peer.open(served);
      const rudeSocket = await within(nextAccepted, "the server to accept the connection");
      // Not events.once(): it rejects when the socket emits "error", which a reset does.
      const closed = new Promise((resolve) => rudeSocket.once("close", resolve));
      await rude.send(frame({ opcode: OP.TEXT, payload: "cut short" }).subarray(0, 8));
      rude.client.socket.resetAndDestroy();
      await answered(served, closed, "the server's side of a reset connection to close");
      const other = await Peer.open(served);
      await other.send(frame({ opcode: OP.TEXT, payload: "still here" }));
      const echo = only(await other.until(1, "an echo for the next client"), "a frame");
      expect(echo.payload.toString(), other.explain("the echo of still here")).toBe("still here");
    });

    test("stops reading from a client that reads none of its echoes, and reads again once it does (backpressure)", async () => {
      const server = createEchoServer();
      const served = await serve(server);
      const accepted = nextConnection(server);
      const peer = await Peer.open(served);
      const socket = await within(accepted, "the server to accept the connection");
      let serverPaused = false;
      const paused = once(socket, "pause").then(() => (serverPaused = true));
      // The client reads nothing more: the echoes fill its receive buffer, then the server's send
      // buffer, and the server's socket.write() starts to return false.
      peer.client.socket.pause();
      const message = frame({ opcode: OP.BINARY, payload: Buffer.alloc(64 * 1024, 7) });
      let sent = 0;
      const flood = (async (): Promise<void> => {
        while (sent < FLOOD_LIMIT) {
          sent += message.length;
          if (!peer.client.socket.write(message)) {
            // Not events.once(): the race leaves its listener behind once the pause has won.
            await Promise.race([new Promise((go) => peer.client.socket.once("drain", go)), paused]);
          }
          if (serverPaused) return;
        }
        throw new Error(
          `The client sent ${sent >> 20} MiB of messages and read none of the echoes, and the ` +
            "server read on. When socket.write() returns false, the client is not reading: stop " +
            'reading its frames (socket.pause()) until the socket\'s "drain", or the server ' +
            "holds every echo in memory.",
        );
      })();
      await within(
        Promise.race([paused, flood, served.failed]),
        () =>
          `Nothing after the wait: the client had sent ${sent >> 20} MiB and read none of the ` +
          "echoes, and the server's socket was not paused. When socket.write() returns false, " +
          'pause reading until "drain".',
      );
      const resumed = once(socket, "resume");
      peer.client.socket.resume();
      await within(
        Promise.race([resumed, served.failed]),
        'the server to read again once the client reads: its socket emits "drain" when the ' +
          "echoes have gone out, and reading resumes then (socket.resume())",
      );
    });

    test("serves the echo page for a plain GET of /", async () => {
      const served = await live();
      const bytes = await answered(
        served,
        exchange(served.address, ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"]),
        "the echo page, then the server's FIN",
      );
      const { status, headers } = responseHead(bytes);
      expect(status, show(bytes, 200)).toBe(200);
      expect(headers.get("content-type")).toMatch(/^text\/html/);
      expect(bytes.toString("utf8")).toContain("new WebSocket(");
    });
  });

  describe("the ws client", () => {
    async function client(served: Served): Promise<WebSocket> {
      const ws = new WebSocket(`ws://${served.address.host}:${served.address.port}/echo`);
      // The ws client fails the connection on a masked or malformed server frame: an "error".
      const errors: Error[] = [];
      ws.on("error", (error) => errors.push(error));
      await answered(served, once(ws, "open"), "the ws client's 'open'");
      (ws as WebSocket & { errors: Error[] }).errors = errors;
      return ws;
    }
    const errorsOf = (ws: WebSocket): Error[] => (ws as WebSocket & { errors: Error[] }).errors;

    test("gets its text and binary messages back, of the same type", async () => {
      const served = await live();
      const ws = await client(served);
      const got: [boolean, string][] = [];
      const both = new Promise<void>((resolve) =>
        ws.on("message", (data: Buffer, isBinary: boolean) => {
          got.push([isBinary, data.toString("hex")]);
          if (got.length === 2) resolve();
        }),
      );
      ws.send("grüße");
      ws.send(Buffer.from([0, 1, 255]));
      await answered(served, both, "two echoes");
      ws.terminate();
      expect(
        errorsOf(ws).map((e) => e.message),
        "the ws client refused a server frame",
      ).toEqual([]);
      expect(got).toEqual([
        [false, Buffer.from("grüße").toString("hex")],
        [true, "0001ff"],
      ]);
    });

    test("gets a fragmented message back whole, and a pong with its ping's payload", async () => {
      const served = await live();
      const ws = await client(served);
      const message = once(ws, "message");
      const pong = once(ws, "pong");
      ws.send("frag", { fin: false });
      ws.ping("ping data");
      ws.send("mented", { fin: true });
      const [[echo], [pongData]] = await answered(
        served,
        Promise.all([message, pong]),
        "the pong and the echo",
      );
      ws.terminate();
      expect((echo as Buffer).toString()).toBe("fragmented");
      expect((pongData as Buffer).toString()).toBe("ping data");
    });

    test("closes with 1000: the server echoes the code and closes the connection", async () => {
      const served = await live();
      const ws = await client(served);
      const closed = once(ws, "close");
      ws.close(1000, "done");
      const [code] = await answered(
        served,
        closed,
        "the ws client's 'close' after the closing handshake",
      );
      expect(code, "the ws client reports the code of the server's close frame").toBe(1000);
      expect(errorsOf(ws).map((e) => e.message)).toEqual([]);
    });
  });

  describeWithBrowser("in Chromium", () => {
    beforeAll(async () => {
      await browser();
    }, 30_000);

    test("a page served by the echo server sends 0 to 70,000-byte messages, gets them echoed, and closes with 1000", async () => {
      const served = await live();
      const context = await (await browser()).newContext();
      try {
        const page = await context.newPage();
        await within(
          page.goto(`http://${served.address.host}:${served.address.port}/`),
          "the echo page for a plain GET of /",
          4_000,
        );
        const sizes = [0, 125, 126, 65_535, 70_000];
        const report = (await answered(
          served,
          page.evaluate(
            (list) =>
              (globalThis as unknown as { echoCheck(s: number[]): Promise<unknown> }).echoCheck(
                list,
              ),
            sizes,
          ),
          "Chromium's WebSocket to get every message echoed, then the close",
        )) as {
          results: { type: string; size: number; echoed: string; same: boolean }[];
          code: number;
          wasClean: boolean;
        };
        expect(report.results.map((r) => [r.type, r.size, r.echoed, r.same])).toEqual(
          sizes.flatMap((size) => [
            ["text", size, "text", true],
            ["binary", size, "binary", true],
          ]),
        );
        expect(report.code, "the close code Chromium saw in the server's close frame").toBe(1000);
        expect(report.wasClean, "a clean close: both close frames, then TCP closed").toBe(true);
      } finally {
        await context.close();
      }
    });
  });
});
