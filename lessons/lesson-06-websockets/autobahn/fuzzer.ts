/**
 * A small fuzzing client in the manner of Autobahn|Testsuite's: it opens a TCP connection, does
 * the opening handshake itself, sends a case's frames exactly as the case says (masked, in the
 * chops it names), reads the server's frames, plays the client's part of the closing handshake,
 * and grades what happened as Autobahn's Case.onConnectionLost does.
 *
 * It never sleeps to synchronize: it closes as soon as the expected events are in, and waits on
 * the server's Close and on its FIN. Timers are bounds on those waits (Autobahn's killAfter,
 * closeAfter, its closing-handshake and server-drop timeouts), and the pauses the case itself
 * needs (6.4.x: did the server fail before the rest of the message came?).
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { grade, sameEvents, type Outcome } from "./grade.ts";
import {
  CLOSE,
  CONTINUATION,
  GOING_AWAY,
  NORMAL,
  PING,
  PONG,
  PROTOCOL_ERROR,
  TEXT,
  type AutobahnCase,
  type Event,
  type FrameSpec,
  type Step,
} from "./table.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface Timing {
  /** The longest a case's own deadline may be (Autobahn's are 0.5 to 10 s). */
  maxDeadlineMs: number;
  /** A case's pause (Autobahn: 1 s). */
  pauseMs: number;
  /** How long the client waits for the server's Close after its own (Autobahn: 1 s). */
  closeHandshakeMs: number;
  /** How long the client waits for the server to close the TCP connection (Autobahn: 1 s). */
  serverDropMs: number;
  /** How long the opening handshake may take. */
  openHandshakeMs: number;
}

/** Autobahn's own timings. */
export const AUTOBAHN_TIMING: Timing = {
  maxDeadlineMs: 10_000,
  pauseMs: 1_000,
  closeHandshakeMs: 1_000,
  serverDropMs: 1_000,
  openHandshakeMs: 5_000,
};

export interface Target {
  host: string;
  port: number;
  /** The request target of the opening handshake. */
  path?: string;
}

export interface RunOptions {
  timing?: Partial<Timing>;
  /** Ends the case at once (the socket destroyed, every timer cleared), rejecting with its reason. */
  signal?: AbortSignal;
}

/** What happened on one connection, as the grading needs it. */
export interface Exchange {
  opened: boolean;
  /** The server's answer to the opening handshake (its head), or why there was none. */
  handshake: string;
  received: Event[];
  closedByMe: boolean;
  droppedByMe: boolean;
  wasClean: boolean;
  /** Whether the server's Close frame came. */
  closeReceived: boolean;
  remoteCloseCode: number | undefined;
  remoteCloseReason: string | undefined;
  /** What the server did that RFC 6455 forbids, as the client saw it (a masked frame, ...). */
  violations: string[];
  sent: Buffer;
  receivedBytes: Buffer;
}

type State = "connecting" | "refused" | "open" | "closing" | "closed";

/** Runs one case against a server and grades it. */
export async function runCase(
  target: Target,
  kase: AutobahnCase,
  options: RunOptions = {},
): Promise<Outcome> {
  const exchange = await exchangeFor(
    target,
    kase,
    { ...AUTOBAHN_TIMING, ...options.timing },
    options.signal,
  );
  return grade(kase, exchange);
}

function exchangeFor(
  target: Target,
  kase: AutobahnCase,
  timing: Timing,
  signal: AbortSignal | undefined,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    const sentChunks: Buffer[] = [];
    const receivedChunks: Buffer[] = [];
    const ex: Exchange = {
      opened: false,
      handshake: "no answer",
      received: [],
      closedByMe: false,
      droppedByMe: false,
      wasClean: false,
      closeReceived: false,
      remoteCloseCode: undefined,
      remoteCloseReason: undefined,
      violations: [],
      sent: Buffer.alloc(0),
      receivedBytes: Buffer.alloc(0),
    };
    let state: State = "connecting";
    let closeReceived = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void): NodeJS.Timeout => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
      return timer;
    };
    const cancel = (timer: NodeJS.Timeout | undefined): void => {
      if (timer) clearTimeout(timer);
      if (timer) timers.delete(timer);
    };
    /** Wakes a step that waits (a pause or waitForEvents) when something changes. */
    let wake: (() => void) | undefined;

    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);

    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (state === "refused") {
        const end = head.indexOf("\r\n\r\n");
        const body = head
          .subarray(end + 4, end + 4 + 300)
          .toString("utf8")
          .trim();
        if (body) ex.handshake = `${ex.handshake}\n\n${body}`;
      }
      state = "closed";
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      signal?.removeEventListener("abort", onAbort);
      ex.sent = Buffer.concat(sentChunks);
      ex.receivedBytes = Buffer.concat(receivedChunks);
      wake?.();
      socket.destroy();
      resolve(ex);
    };
    const onAbort = (): void => {
      finished = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      state = "closed";
      socket.destroy();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });

    const write = (bytes: Buffer): Promise<void> => {
      sentChunks.push(bytes);
      if (!socket.writable) return Promise.resolve();
      return new Promise((done) => socket.write(bytes, () => done()));
    };
    /** The client drops the TCP connection itself (a timeout ran out). */
    const drop = (): void => {
      ex.droppedByMe = true;
      ex.wasClean = false;
      finish();
    };
    /** The client's Close frame: the first one starts the closing handshake. */
    const sendClose = (code: number | undefined, reason?: Buffer, isReply = false): void => {
      if (state !== "open") return;
      const payload = closePayload(code, reason);
      void write(encodeFrame({ opcode: CLOSE, payload }));
      state = "closing";
      ex.closedByMe = !isReply;
      if (!isReply) closeTimer = later(timing.closeHandshakeMs, drop);
    };
    let closeTimer: NodeJS.Timeout | undefined;
    /** Autobahn's killAfter: fail the connection (Close 1001), or drop it if already closing. */
    const kill = (): void => {
      if (state === "open") sendClose(GOING_AWAY, Buffer.from("Going Away"));
      else if (state === "closing" && !closeReceived) drop();
    };

    // --- Reading the server's side ---------------------------------------------------------
    let head = Buffer.alloc(0);
    const reader = new ServerFrames();
    const key = randomBytes(16).toString("base64");

    const onEvent = (event: Event): void => {
      ex.received.push(event);
      // Autobahn's finishWhenDone: once what came matches every expected outcome, close.
      const outcomes = Object.values(kase.expected);
      if (
        kase.close.closedByMe &&
        !kase.suppressClose &&
        outcomes.every((events) => sameEvents(ex.received, events))
      ) {
        sendClose(NORMAL);
      }
      wake?.();
    };

    const violation = (what: string): void => {
      ex.violations.push(what);
      // The client fails the connection, as Autobahn's does on a protocol violation.
      if (state === "open") sendClose(PROTOCOL_ERROR);
      else drop();
    };

    const onFrames = (bytes: Buffer): void => {
      let frames;
      try {
        frames = reader.feed(bytes);
      } catch (error) {
        violation((error as Error).message);
        return;
      }
      for (const frame of frames) {
        if (state === "closed") return;
        if (closeReceived) {
          violation(`a frame (opcode ${frame.opcode}) after the server's Close (RFC 6455 §5.5.1)`);
          return;
        }
        if (frame.opcode === CLOSE) {
          closeReceived = true;
          ex.closeReceived = true;
          const { code, reason, problem } = parseClose(frame.payload);
          if (problem) {
            violation(problem);
            return;
          }
          ex.remoteCloseCode = code;
          ex.remoteCloseReason = reason;
          ex.wasClean = true;
          wake?.();
          if (state === "open") sendClose(NORMAL, undefined, true);
          cancel(closeTimer);
          // A client expects the server to close the TCP connection (RFC 6455 §7.1.1).
          later(timing.serverDropMs, drop);
        } else if (frame.opcode === PING) {
          onEvent({ kind: "ping", data: frame.payload });
          if (state === "open") void write(encodeFrame({ opcode: PONG, payload: frame.payload }));
        } else if (frame.opcode === PONG) {
          onEvent({ kind: "pong", data: frame.payload });
        } else {
          onEvent({ kind: "message", data: frame.payload, binary: frame.opcode !== TEXT });
        }
      }
    };

    socket.on("data", (chunk: Buffer) => {
      receivedChunks.push(chunk);
      if (state === "refused") head = Buffer.concat([head, chunk]);
      if (state === "connecting") {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        const answer = head.subarray(0, end).toString("latin1");
        ex.handshake = answer;
        const problem = handshakeProblem(answer, key);
        if (problem) {
          // A refusal's body may say why (a stub not written yet names itself there): it is
          // read until the server closes, within the opening handshake's time.
          ex.handshake = `${problem}\n${answer}`;
          state = "refused";
          return;
        }
        cancel(openTimer);
        state = "open";
        ex.opened = true;
        // Autobahn's killAfter and closeAfter: counted from the case's last step.
        void play().then(() => {
          if (state === "closed") return;
          const after = kase.deadline.after === "kill" ? kill : () => sendClose(NORMAL);
          later(Math.min(kase.deadline.ms, timing.maxDeadlineMs), after);
        });
        // Bytes after the blank line are the server's first frames.
        onFrames(head.subarray(end + 4));
        return;
      }
      if (state !== "closed") onFrames(chunk);
    });
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (state === "connecting") ex.handshake = `no answer: ${error.code ?? error.message}`;
      finish();
    });
    const openTimer = later(timing.openHandshakeMs, () => {
      if (state === "connecting") {
        ex.handshake = `no answer to the opening handshake after ${timing.openHandshakeMs} ms`;
      }
      finish();
    });

    socket.once("connect", () => {
      const request =
        `GET ${target.path ?? "/"} HTTP/1.1\r\n` +
        `Host: ${target.host}:${target.port}\r\n` +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${key}\r\n` +
        "Sec-WebSocket-Version: 13\r\n\r\n";
      void write(Buffer.from(request, "latin1"));
    });

    // --- Playing the case's steps -----------------------------------------------------------
    /** Resolves once `done()` holds, the connection is closed, or `ms` ran out (false then). */
    const waitUntil = (done: () => boolean, ms: number): Promise<boolean> =>
      new Promise((settle) => {
        const check = (): void => {
          if (done() || state === "closed") {
            cancel(timer);
            wake = undefined;
            settle(done());
          }
        };
        const timer = later(ms, () => {
          wake = undefined;
          settle(false);
        });
        wake = check;
        check();
      });

    let pending: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const bytes = Buffer.concat(pending);
      pending = [];
      await write(bytes);
    };
    /** Autobahn's pause: the case goes on only while the connection is open. */
    const pause = async (tag: string): Promise<boolean> => {
      await flush();
      await waitUntil(() => state !== "open" || closeReceived, timing.pauseMs);
      if (state !== "open" || closeReceived) return false;
      ex.received.push({ kind: "timeout", tag });
      return true;
    };

    const play = async (): Promise<void> => {
      for (const step of kase.steps) {
        if (state === "closed") return;
        if ("frame" in step) {
          const bytes = encodeFrame(step.frame);
          if (step.pauses) {
            await flush();
            // The header, then the payload cut at each pause.
            let from = 0;
            const headerLength = bytes.length - payloadOf(step.frame).length;
            for (const { at, tag } of step.pauses) {
              await write(bytes.subarray(from, headerLength + at));
              from = headerLength + at;
              if (!(await pause(tag))) return;
            }
            await write(bytes.subarray(from));
          } else if (step.chop) {
            await flush();
            for (let at = 0; at < bytes.length && (state as State) !== "closed"; at += step.chop) {
              await write(bytes.subarray(at, at + step.chop));
            }
          } else if (step.sync) {
            await flush();
            await write(bytes);
          } else {
            pending.push(bytes);
          }
        } else if ("message" in step) {
          for (const frame of messageFrames(step)) pending.push(encodeFrame(frame));
        } else if ("close" in step) {
          pending.push(
            encodeFrame({
              opcode: CLOSE,
              payload: closePayload(step.close.code, step.close.reason),
            }),
          );
          if (state === "open") {
            state = "closing";
            ex.closedByMe = true;
            closeTimer = later(timing.closeHandshakeMs, drop);
          }
        } else if ("pause" in step) {
          if (!(await pause(step.pause))) return;
        } else {
          await flush();
          const count = step.waitForEvents;
          await waitUntil(() => ex.received.length >= count, timing.pauseMs);
          if (state !== "open" || closeReceived) return;
        }
      }
      await flush();
    };
  });
}

// --- Frames ----------------------------------------------------------------------------------

function payloadOf(frame: FrameSpec): Buffer {
  const payload = frame.payload ?? Buffer.alloc(0);
  if (frame.length === undefined) return payload;
  // Autobahn's payload_len: the payload repeated, then cut, to this length.
  const out = Buffer.alloc(frame.length);
  for (let at = 0; at < frame.length; at += payload.length) payload.copy(out, at);
  return out;
}

/** A client frame (RFC 6455 §5.2), masked with a fresh random key as §5.3 requires. */
export function encodeFrame(frame: FrameSpec): Buffer {
  const payload = payloadOf(frame);
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + 4);
  header[0] = ((frame.fin ?? true) ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | frame.opcode;
  header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  const mask = randomBytes(4);
  mask.copy(header, 2 + extended);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([header, masked]);
}

function messageFrames(step: Extract<Step, { message: Buffer }>): FrameSpec[] {
  const opcode = step.binary ? 0x2 : TEXT;
  const size = step.fragmentSize ?? step.message.length;
  if (step.message.length <= size) return [{ opcode, payload: step.message }];
  const frames: FrameSpec[] = [];
  for (let at = 0; at < step.message.length; at += size) {
    const payload = step.message.subarray(at, at + size);
    const fin = at + size >= step.message.length;
    frames.push({ opcode: at === 0 ? opcode : CONTINUATION, fin, payload });
  }
  return frames;
}

function closePayload(code: number | undefined, reason: Buffer | undefined): Buffer {
  const parts: Buffer[] = [];
  if (code !== undefined) {
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16BE(code);
    parts.push(bytes);
  }
  if (reason) parts.push(reason);
  return Buffer.concat(parts);
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
function validUtf8(bytes: Buffer): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function parseClose(payload: Buffer): { code?: number; reason?: string; problem?: string } {
  if (payload.length === 0) return {};
  if (payload.length === 1)
    return { problem: "a Close frame with a 1-byte payload (RFC 6455 §5.5.1)" };
  const reason = payload.subarray(2);
  if (!validUtf8(reason)) return { problem: "a Close reason that is not UTF-8 (RFC 6455 §5.5.1)" };
  return { code: payload.readUInt16BE(0), reason: reason.toString("utf8") };
}

function handshakeProblem(head: string, key: string): string | undefined {
  const [status = "", ...lines] = head.split("\r\n");
  if (/^HTTP\/1\.1 5\d\d\b/.test(status)) {
    return `The server answered the opening handshake with ${status}: its own code threw (its log says what)`;
  }
  if (!/^HTTP\/1\.1 101\b/.test(status))
    return `The server refused the opening handshake: ${status}`;
  const accept = lines
    .find((line) => /^sec-websocket-accept:/i.test(line))
    ?.replace(/^[^:]*:\s*/, "");
  const expected = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  if (accept?.trim() !== expected) {
    return `Sec-WebSocket-Accept is ${JSON.stringify(accept)}, not ${expected} (RFC 6455 §4.2.2)`;
  }
  return undefined;
}

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/**
 * The server's frames, reassembled into messages: what a client may accept (RFC 6455 §5).
 * A frame the client must refuse throws, naming the rule.
 */
class ServerFrames {
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] | undefined;
  private fragmentedOpcode = 0;

  feed(chunk: Buffer): ServerFrame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: ServerFrame[] = [];
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return out;
      const first = b[0] as number;
      const second = b[1] as number;
      let length = second & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return out;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return out;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("a 64-bit length above 2^53-1");
        length = Number(big);
        at = 10;
      }
      if (second & 0x80) throw new Error("a masked frame from the server (RFC 6455 §5.1)");
      if (b.length < at + length) return out;
      const fin = (first & 0x80) !== 0;
      const opcode = first & 0x0f;
      const payload = Buffer.from(b.subarray(at, at + length));
      this.buffered = b.subarray(at + length);
      if (first & 0x70)
        throw new Error(
          `a frame with RSV bits ${(first >> 4) & 7} set, none negotiated (RFC 6455 §5.2)`,
        );
      if (opcode >= 0x8) {
        if (opcode > PONG) throw new Error(`a reserved opcode ${opcode} (RFC 6455 §5.2)`);
        if (!fin || length > 125)
          throw new Error("a fragmented or over-125-byte control frame (RFC 6455 §5.5)");
        out.push({ opcode, payload });
        continue;
      }
      if (opcode > 0x2) throw new Error(`a reserved opcode ${opcode} (RFC 6455 §5.2)`);
      if (opcode === CONTINUATION) {
        if (!this.fragments)
          throw new Error("a continuation frame with no message to continue (RFC 6455 §5.4)");
        this.fragments.push(payload);
      } else {
        if (this.fragments)
          throw new Error("a new message inside a fragmented one (RFC 6455 §5.4)");
        this.fragments = [payload];
        this.fragmentedOpcode = opcode;
      }
      if (!fin) continue;
      const whole = Buffer.concat(this.fragments);
      this.fragments = undefined;
      if (this.fragmentedOpcode === TEXT && !validUtf8(whole)) {
        throw new Error("a text message that is not valid UTF-8 (RFC 6455 §8.1)");
      }
      out.push({ opcode: this.fragmentedOpcode, payload: whole });
    }
  }
}
