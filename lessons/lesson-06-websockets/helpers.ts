/**
 * Test helpers for lesson 06: WebSocket frames as the tests write and read them (their own small
 * encoder and decoder, independent of the learner's), the opening handshake over a raw socket, and
 * an echo server on port 0 whose failures name the stub or the bug that caused them.
 */
import { createHash, randomBytes } from "node:crypto";
import type net from "node:net";
import { onTestFinished } from "vitest";
import { explain, show } from "../../shared/testing/bytes.ts";
import { guard } from "../../shared/testing/guard.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { RawClient } from "../../shared/testing/raw.ts";
import { isNotWritten } from "../../shared/testing/server-log.ts";

/** RFC 6455 §1.3's example: this key must be answered with this accept value. */
export const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** The test's own accept value, from the RFC's formula. */
export function expectedAccept(key: string): string {
  return createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
}

/** A handshake request: the header fields given (null leaves one out) over a valid default set. */
export function upgradeRequest(
  fields: Record<string, string | null> = {},
  requestLine = "GET /echo HTTP/1.1",
): Buffer {
  const all: Record<string, string | null> = {
    Host: "localhost",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": RFC_KEY,
    "Sec-WebSocket-Version": "13",
    ...fields,
  };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`${requestLine}\r\n${lines.join("")}\r\n`, "latin1");
}

/** What a test writes as a frame, malformed ones included. */
export interface TestFrame {
  fin?: boolean;
  /** RSV1-3 as a 3-bit number; 0 by default. */
  rsv?: number;
  opcode: number;
  payload?: Buffer | string;
  /** false sends the frame unmasked, which a client must never do. Masked by default. */
  masked?: boolean;
  /** The masking key; a fixed non-zero one by default, so that a missing unmask shows. */
  mask?: Buffer;
  /** Forces the 7-bit length field (126, 127) or a 64-bit length, to write bad lengths. */
  length7?: number;
  length64?: bigint;
}

export const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A client frame's bytes (RFC 6455 §5.2), written without the learner's encoder. */
export function frame(spec: TestFrame): Buffer {
  const payload =
    typeof spec.payload === "string"
      ? Buffer.from(spec.payload, "utf8")
      : (spec.payload ?? Buffer.alloc(0));
  const masked = spec.masked ?? true;
  const mask = spec.mask ?? MASK;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  let length: Buffer;
  const length7 =
    spec.length7 ??
    (spec.length64 !== undefined
      ? 127
      : payload.length <= 125
        ? payload.length
        : payload.length <= 0xffff
          ? 126
          : 127);
  if (length7 === 126) {
    length = Buffer.alloc(3);
    length.writeUInt16BE(payload.length, 1);
  } else if (length7 === 127) {
    length = Buffer.alloc(9);
    length.writeBigUInt64BE(spec.length64 ?? BigInt(payload.length), 1);
  } else {
    length = Buffer.alloc(1);
  }
  length[0] = (masked ? 0x80 : 0) | length7;
  const body = Buffer.from(payload);
  if (masked)
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([Buffer.from([first]), length, masked ? mask : Buffer.alloc(0), body]);
}

export const OP = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** A client's close frame with a code (and a reason). */
export function closeFrame(code?: number, reason = ""): Buffer {
  if (code === undefined) return frame({ opcode: OP.CLOSE });
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, "utf8");
  return frame({ opcode: OP.CLOSE, payload });
}

/** A frame as the server sent it, read by the test's own decoder. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
  /** The frame's bytes on the wire, for failure messages. */
  bytes: Buffer;
}

/** Every whole frame in `bytes`; a partial frame at the end is left out. */
export function readFrames(bytes: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const first = bytes[at] as number;
    const second = bytes[at + 1] as number;
    let length = second & 0x7f;
    let head = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) break;
      length = bytes.readUInt16BE(at + 2);
      head = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(at + 2));
      head = 10;
    }
    const masked = (second & 0x80) !== 0;
    if (masked) head += 4;
    if (at + head + length > bytes.length) break;
    let payload = Buffer.from(bytes.subarray(at + head, at + head + length));
    if (masked) {
      const key = bytes.subarray(at + head - 4, at + head);
      payload = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
    }
    frames.push({
      fin: (first & 0x80) !== 0,
      rsv: (first & 0x70) >> 4,
      opcode: first & 0x0f,
      masked,
      payload,
      bytes: bytes.subarray(at, at + head + length),
    });
    at += head + length;
  }
  return frames;
}

/** A frame described in a failure message: "text FIN=1 5 bytes "hello"". */
export function describeFrame(f: ServerFrame): string {
  const names: Record<number, string> = {
    0: "continuation",
    1: "text",
    2: "binary",
    8: "close",
    9: "ping",
    10: "pong",
  };
  const kind = names[f.opcode] ?? `opcode 0x${f.opcode.toString(16)}`;
  const extra =
    f.opcode === OP.CLOSE && f.payload.length >= 2 ? ` code ${f.payload.readUInt16BE(0)}` : "";
  return `${kind}${extra} FIN=${f.fin ? 1 : 0}${f.masked ? " MASKED" : ""} ${f.payload.length} bytes ${show(f.payload, 40)}`;
}

/** An echo server under test, listening on port 0, whose failures are named. */
export interface Served {
  readonly address: Address;
  /**
   * Rejects with what went wrong inside the server: a stub it reached (the stub's own message,
   * which names the step), or an error one of its socket listeners threw.
   */
  readonly failed: Promise<never>;
}

/**
 * Listens on port 0 (closed when the test ends) with the server's socket listeners guarded, and
 * with what it logs with console.error watched: a server that catches a stub's error, logs it and
 * answers 500 or closes 1011 fails the test with the stub's message instead.
 */
export async function serve(server: net.Server): Promise<Served> {
  const { failed: thrown } = guard(server);
  let reject!: (error: unknown) => void;
  const logged = new Promise<never>((_resolve, rejectLogged) => (reject = rejectLogged));
  const original = console.error;
  console.error = (...args: unknown[]) => {
    const stub = args.find(isNotWritten);
    if (stub !== undefined) return reject(stub);
    const error = args.find((a) => a instanceof Error);
    if (error !== undefined) reject(error);
    original.apply(console, args);
  };
  onTestFinished(() => {
    console.error = original;
  });
  const failed = Promise.race([
    logged,
    thrown.catch((error: unknown) => Promise.reject(named(error))),
  ]);
  failed.catch(() => {}); // a test that never waits on it is not an unhandled rejection
  return { address: await listen(server), failed };
}

function named(error: unknown): unknown {
  if (
    !(error instanceof Error) ||
    (error as { code?: unknown }).code === "COURSE_NOT_IMPLEMENTED"
  ) {
    return error;
  }
  return new Error(
    `The server's socket listener threw ${(error as { code?: string }).code ?? error.name}: ` +
      `${error.message}. Nothing catches an error thrown there: it crashes the whole server. ` +
      "A protocol error fails the connection with its close code; any other error is the " +
      "server's bug: log it and close with 1011.",
    { cause: error },
  );
}

/** `promise`, bounded, failing at once with what the server threw or logged. */
export function answered<T>(served: Served, promise: Promise<T>, expected: string): Promise<T> {
  return within(Promise.race([promise, served.failed]), expected);
}

/** Where the 101's head ends in `bytes`, or -1. */
export function headEnd(bytes: Buffer): number {
  const end = bytes.indexOf("\r\n\r\n");
  return end === -1 ? -1 : end + 4;
}

/** The status line and header fields (lowercased names) of a response head. */
export function responseHead(bytes: Buffer): { status: number; headers: Map<string, string> } {
  const end = headEnd(bytes);
  const [statusLine = "", ...lines] = bytes
    .subarray(0, end === -1 ? bytes.length : end - 4)
    .toString("latin1")
    .split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers };
}

/** A raw client past the handshake: it reads the server's frames after the 101. */
export class Peer {
  readonly client: RawClient;
  private readonly served: Served;

  constructor(client: RawClient, served: Served) {
    this.client = client;
    this.served = served;
  }

  /** Connects, sends the handshake (and `extra` bytes in the same write), waits for the 101. */
  static async open(served: Served, extra: Buffer = Buffer.alloc(0)): Promise<Peer> {
    const client = await RawClient.open(served.address);
    const request = upgradeRequest({ "Sec-WebSocket-Key": randomBytes(16).toString("base64") });
    await client.send(Buffer.concat([request, extra]));
    await answered(
      served,
      client.until((b) => headEnd(b) !== -1, "the 101 response's head"),
      "a 101 Switching Protocols, then frames",
    );
    const { status } = responseHead(client.received);
    if (status !== 101) {
      throw new Error(
        explain(
          "The handshake was refused",
          request,
          "HTTP/1.1 101 Switching Protocols",
          client.received,
        ),
      );
    }
    return new Peer(client, served);
  }

  /** The frames the server has sent so far, after the 101. */
  frames(): ServerFrame[] {
    const bytes = this.client.received;
    return readFrames(bytes.subarray(headEnd(bytes)));
  }

  /**
   * A failure message for frames that are not what the protocol expects: what was sent, the
   * bytes that came after the 101 as they are (an HTTP response written into the WebSocket shows
   * as text there), and the same bytes read as frames.
   */
  explain(expected: string): string {
    const bytes = this.client.received;
    return [
      `Expected ${expected}`,
      `  sent:          ${show(this.client.sent, 200)}`,
      `  after the 101: ${show(bytes.subarray(headEnd(bytes)), 200)}`,
      `  as frames:     ${this.transcript()}`,
    ].join("\n");
  }

  /** What the server sent, frame by frame, for a failure message. */
  transcript(): string {
    const frames = this.frames();
    if (frames.length === 0) return "no frame at all";
    const shown = frames.slice(0, 8).map(describeFrame).join("; ");
    return frames.length > 8 ? `${shown}; ... (${frames.length - 8} more frames)` : shown;
  }

  async send(...chunks: Buffer[]): Promise<void> {
    await this.client.send(...chunks);
  }

  /** Waits until the server has sent `count` frames; fails saying what was expected. */
  until(count: number, expected: string): Promise<ServerFrame[]> {
    return this.wait((frames) => frames.length >= count, expected);
  }

  /** Waits until the server's close frame has come; returns every frame sent. */
  untilClose(expected: string): Promise<ServerFrame[]> {
    return this.wait((frames) => frames.some((f) => f.opcode === OP.CLOSE), expected);
  }

  /** Resolves once the server has closed the TCP connection (its FIN). */
  async untilTcpClosed(expected: string): Promise<void> {
    await within(Promise.race([this.client.closed(), this.served.failed]), () =>
      this.report(`Nothing after the wait. Expected ${expected}`),
    );
  }

  private async wait(
    done: (frames: ServerFrame[]) => boolean,
    expected: string,
  ): Promise<ServerFrame[]> {
    const arrived = this.client
      .until((bytes) => done(readFrames(bytes.subarray(headEnd(bytes)))), expected)
      .catch(() => {
        throw new Error(this.report(`The server closed the connection before ${expected}`));
      });
    await within(Promise.race([arrived, this.served.failed]), () =>
      this.report(`Nothing more arrived. Expected ${expected}`),
    );
    return this.frames();
  }

  private report(what: string): string {
    return `${what}\n  sent:     ${show(this.client.sent, 300)}\n  received: ${this.transcript()}`;
  }
}

/** The close code in a close frame's payload, or undefined for an empty one. */
export function closeCodeOf(f: ServerFrame | undefined): number | undefined {
  if (f === undefined || f.payload.length < 2) return undefined;
  return f.payload.readUInt16BE(0);
}
