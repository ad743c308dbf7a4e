import type net from "node:net";
import hpack from "hpack.js";
import { describe, expect, test } from "vitest";
import { frameMessage } from "#lesson/lesson-10-grpc/grpc-wire.ts";
import { createTraceProxy } from "../../scripts/lib/trace.ts";
import { PREFACE, traceHttp2 } from "../../scripts/lib/trace-http2.ts";
import { listen } from "../../shared/testing/net.ts";
import { getUserRequest, lpm, rawCall, startHand } from "./wire-helpers.ts";

/** One HTTP/2 frame: the 9-byte header (RFC 9113 §4.1) and its payload. */
function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** A header block, HPACK-encoded by hpack.js with a table of its own (one per direction). */
function encoder(): (headers: Record<string, string>) => Buffer {
  const compressor = hpack.compressor.create({ table: { size: 4096 } });
  return (headers) => {
    compressor.write(Object.entries(headers).map(([name, value]) => ({ name, value })));
    return compressor.read() ?? Buffer.alloc(0);
  };
}

const DATA = 0x0;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

const REQUEST_HEADERS = {
  ":method": "POST",
  ":scheme": "http",
  ":path": "/users.v1.UserService/GetUser",
  ":authority": "127.0.0.1",
  "content-type": "application/grpc",
  te: "trailers",
};

describe("Step 2: gRPC on the wire", () => {
  describe("npm run serve -- lesson-10 --trace: the HTTP/2 frames of a call to your hand server", () => {
    async function traced(chunks: Uint8Array[]): Promise<{ lines: string[]; shown: string }> {
      const { server } = await startHand();
      const lines: string[] = [];
      const proxy = createTraceProxy(server.address() as net.AddressInfo, (line) =>
        lines.push(line),
      );
      const { host, port } = await listen(proxy);
      const reply = await rawCall(`http://${host}:${port}`, { chunks });
      return { lines, shown: `${reply.shown}\ntrace:\n${lines.join("\n")}` };
    }

    test("the preface, the request HEADERS decoded, and the GetUserRequest inside DATA", async () => {
      const { lines, shown } = await traced([lpm(getUserRequest("123"))]);
      const client = lines.filter((l) => l.includes("client → server"));
      expect(
        client.some((l) => l.includes("preface")),
        shown,
      ).toBe(true);
      expect(
        client.some((l) => /HEADERS flags=END_HEADERS stream=1 /.test(l)),
        shown,
      ).toBe(true);
      expect(
        client.some((l) => l.endsWith(":path: /users.v1.UserService/GetUser")),
        shown,
      ).toBe(true);
      expect(
        client.some((l) => l.endsWith("te: trailers")),
        shown,
      ).toBe(true);
      expect(
        client.some((l) => l.endsWith("gRPC message: flag 0, length 5: 0a03313233")),
        shown,
      ).toBe(true);
    });

    test("the response: HEADERS :status 200, the User in DATA, then the trailers with grpc-status 0", async () => {
      const { lines, shown } = await traced([lpm(getUserRequest("123"))]);
      const server = lines.filter((l) => l.includes("server → client"));
      const at = (pattern: RegExp): number => server.findIndex((l) => pattern.test(l));
      expect(at(/:status: 200$/), shown).toBeGreaterThan(-1);
      expect(at(/gRPC message: flag 0, length \d+: 0a03313233/), shown).toBeGreaterThan(
        at(/:status: 200$/),
      );
      expect(at(/\(trailers\)$/), shown).toBeGreaterThan(at(/gRPC message/));
      expect(at(/grpc-status: 0$/), shown).toBeGreaterThan(at(/\(trailers\)$/));
      expect(
        server.some((l) => /HEADERS flags=END_STREAM\|END_HEADERS stream=1 /.test(l)),
        shown,
      ).toBe(true);
    });

    test("a NOT_FOUND is one HEADERS frame, labelled Trailers-Only", async () => {
      const { lines, shown } = await traced([lpm(getUserRequest("999"))]);
      const server = lines.filter((l) => l.includes("server → client"));
      expect(
        server.some((l) => l.endsWith("(Trailers-Only: the call failed before any message)")),
        shown,
      ).toBe(true);
      expect(
        server.some((l) => l.endsWith("grpc-status: 5")),
        shown,
      ).toBe(true);
      expect(
        server.some((l) => l.includes("DATA ")),
        shown,
      ).toBe(false);
    });
  });

  describe("the HTTP/2 trace is a function of the bytes: cut them anywhere", () => {
    /** A client's first bytes: the preface, SETTINGS, the request HEADERS and its one message. */
    function opening(): { request: Buffer; conversation: Buffer } {
      const request = frameMessage(getUserRequest("123"));
      const conversation = Buffer.concat([
        PREFACE,
        frame(SETTINGS, 0, 0, Buffer.from([0x00, 0x04, 0x00, 0x00, 0xff, 0xff])),
        frame(HEADERS, END_HEADERS, 1, encoder()(REQUEST_HEADERS)),
        frame(DATA, END_STREAM, 1, request),
      ]);
      return { request, conversation };
    }

    test("the preface, SETTINGS with its values, HEADERS decoded, DATA as a gRPC message", () => {
      const { conversation } = opening();
      expect(traceHttp2([{ from: "client", bytes: conversation }])).toEqual([
        'client → server  preface "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" (RFC 9113 §3.4)',
        "client → server  SETTINGS flags=- stream=0 length=6",
        "client → server      INITIAL_WINDOW_SIZE = 65535",
        expect.stringMatching(/^client → server {2}HEADERS flags=END_HEADERS stream=1 length=\d+$/),
        "client → server      :method: POST",
        "client → server      :scheme: http",
        "client → server      :path: /users.v1.UserService/GetUser",
        "client → server      :authority: 127.0.0.1",
        "client → server      content-type: application/grpc",
        "client → server      te: trailers",
        "client → server  DATA flags=END_STREAM stream=1 length=10",
        "client → server      gRPC message: flag 0, length 5: 0a03313233",
      ]);
    });

    test("fed one byte at a time, the same lines", () => {
      const { conversation } = opening();
      const whole = traceHttp2([{ from: "client", bytes: conversation }]);
      const bytes = [...conversation].map((b) => ({
        from: "client" as const,
        bytes: Uint8Array.of(b),
      }));
      expect(traceHttp2(bytes)).toEqual(whole);
    });

    test("a gRPC message cut over two DATA frames (padded), and two in a third frame", () => {
      const { request, conversation } = opening();
      const server = encoder();
      const first = frameMessage(Buffer.from("0a0131", "hex"));
      const second = frameMessage(Buffer.from("0a0132", "hex"));
      const padded = Buffer.concat([Buffer.from([2]), request.subarray(0, 7), Buffer.alloc(2)]);
      const lines = traceHttp2([
        { from: "client", bytes: conversation.subarray(0, conversation.length - 19) },
        {
          from: "server",
          bytes: frame(
            HEADERS,
            END_HEADERS,
            1,
            server({ ":status": "200", "content-type": "application/grpc" }),
          ),
        },
        { from: "server", bytes: frame(DATA, PADDED, 1, padded) },
        {
          from: "server",
          bytes: frame(DATA, 0, 1, Buffer.concat([request.subarray(7), first, second])),
        },
      ]).filter((l) => l.startsWith("server"));
      expect(lines.slice(3)).toEqual([
        "server → client  DATA flags=PADDED stream=1 length=10",
        "server → client      (7 bytes of a gRPC message continued in the next DATA frame)",
        "server → client  DATA flags=- stream=1 length=19",
        "server → client      gRPC message: flag 0, length 5: 0a03313233",
        "server → client      gRPC message: flag 0, length 3: 0a0131",
        "server → client      gRPC message: flag 0, length 3: 0a0132",
      ]);
    });

    test("a header block continued in CONTINUATION is decoded once it is whole", () => {
      const { request } = opening();
      const block = encoder()(REQUEST_HEADERS);
      const lines = traceHttp2([
        {
          from: "client",
          bytes: Buffer.concat([
            PREFACE,
            frame(HEADERS, 0, 1, block.subarray(0, 5)),
            frame(CONTINUATION, END_HEADERS, 1, block.subarray(5)),
            frame(DATA, END_STREAM, 1, request),
          ]),
        },
      ]);
      expect(
        lines.indexOf("client → server      :path: /users.v1.UserService/GetUser"),
      ).toBeGreaterThan(
        lines.findIndex((l) => l.includes("CONTINUATION flags=END_HEADERS stream=1")),
      );
      expect(lines.at(-1)).toBe("client → server      gRPC message: flag 0, length 5: 0a03313233");
    });
  });
});
