/**
 * Messages out of frames (RFC 6455 §5.4-§5.5): a message is one data frame with FIN set, or a
 * first frame (text or binary, FIN 0), continuation frames, and a last continuation with FIN 1.
 * Control frames (close, ping, pong) stand alone and may come between the fragments:
 *
 *   text FIN=0 "Hel"  ->  ping "x"  ->  continuation FIN=0 "lo, "  ->  continuation FIN=1 "world"
 *                           |
 *                           +-> answered at once with pong "x"; the message goes on
 *
 * MessageReader takes frames in order and says what each one completed: a whole message, a
 * control frame to act on, or nothing yet.
 */
import { TextDecoder } from "node:util";
import { CLOSE, WebSocketError } from "./errors.ts";
import { OPCODE, type Frame } from "./frames.ts";

export type Message = { type: "text"; data: string } | { type: "binary"; data: Buffer };

/** What one frame completes. */
export type Incoming =
  | { kind: "message"; message: Message }
  | { kind: "ping"; payload: Buffer }
  | { kind: "pong"; payload: Buffer }
  | { kind: "close"; code: number | undefined; reason: string };

export interface MessageOptions {
  /** Cap on one message's payload (bytes), all its fragments together; more is close 1009. */
  maxMessageBytes?: number;
  /** Cap on the number of frames of one message; more is close 1009. */
  maxFragments?: number;
}

export const MAX_MESSAGE_BYTES = 1024 * 1024;
export const MAX_FRAGMENTS = 1024;

/**
 * The named states of a reader:
 *
 *   between  no message started: the next data frame is text or binary, never a continuation
 *   text     inside a fragmented text message: the next data frame is a continuation
 *   binary   inside a fragmented binary message: the same
 */
export type MessageReaderState = "between" | "text" | "binary";

/** Assembles messages from frames and checks the rules of §5.4, §5.5 and §8.1. */
export class MessageReader {
  private stateNow: MessageReaderState = "between";
  private readonly maxMessageBytes: number;
  private readonly maxFragments: number;
  private parts: Buffer[] = [];
  private size = 0;
  private fragments = 0;
  // Text is decoded as it arrives, fragment by fragment, with `stream: true`: a character split
  // across two fragments is held until its last byte comes, and an invalid byte fails at once.
  private decoder: TextDecoder | undefined;
  private text = "";

  constructor(options: MessageOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.maxFragments = options.maxFragments ?? MAX_FRAGMENTS;
  }

  get state(): MessageReaderState {
    return this.stateNow;
  }

  /** The next frame, in order; returns what it completed, or undefined: the message goes on. */
  push(frame: Frame): Incoming | undefined {
    switch (frame.opcode) {
      case OPCODE.PING:
        return { kind: "ping", payload: frame.payload };
      case OPCODE.PONG:
        return { kind: "pong", payload: frame.payload };
      case OPCODE.CLOSE:
        return { kind: "close", ...parseClosePayload(frame.payload) };
      case OPCODE.CONTINUATION:
        // §5.4: continuation frames only follow a first fragment.
        if (this.stateNow === "between") {
          throw new WebSocketError(
            "WS_UNEXPECTED_CONTINUATION",
            "A continuation frame arrived with no message to continue",
          );
        }
        return this.add(frame);
      case OPCODE.TEXT:
      case OPCODE.BINARY:
        // §5.4: "the fragments of one message MUST NOT be interleaved between the fragments of
        // another message".
        if (this.stateNow !== "between") {
          throw new WebSocketError(
            "WS_EXPECTED_CONTINUATION",
            `A new ${frame.opcode === OPCODE.TEXT ? "text" : "binary"} frame arrived inside a fragmented ${this.stateNow} message`,
          );
        }
        this.stateNow = frame.opcode === OPCODE.TEXT ? "text" : "binary";
        if (this.stateNow === "text") this.decoder = new TextDecoder("utf-8", { fatal: true });
        return this.add(frame);
    }
  }

  private add(frame: Frame): Incoming | undefined {
    this.fragments++;
    if (this.fragments > this.maxFragments) {
      throw new WebSocketError(
        "WS_TOO_MANY_FRAGMENTS",
        `A message of more than ${this.maxFragments} fragments`,
      );
    }
    this.size += frame.payload.length;
    if (this.size > this.maxMessageBytes) {
      throw new WebSocketError(
        "WS_PAYLOAD_TOO_LARGE",
        `A message of more than ${this.maxMessageBytes} bytes`,
      );
    }
    if (this.decoder !== undefined) {
      this.text += decode(this.decoder, frame.payload, !frame.fin);
    } else {
      this.parts.push(frame.payload);
    }
    if (!frame.fin) return undefined;
    const message: Message =
      this.stateNow === "text"
        ? { type: "text", data: this.text }
        : { type: "binary", data: Buffer.concat(this.parts, this.size) };
    this.stateNow = "between";
    this.parts = [];
    this.size = 0;
    this.fragments = 0;
    this.decoder = undefined;
    this.text = "";
    return { kind: "message", message };
  }
}

/** §8.1: text "MUST" be valid UTF-8; `more` says a later fragment may complete a character. */
function decode(decoder: TextDecoder, bytes: Buffer, more: boolean): string {
  try {
    return decoder.decode(bytes, { stream: more });
  } catch {
    throw new WebSocketError("WS_INVALID_UTF8", "A text message is not valid UTF-8");
  }
}

/**
 * §7.4: the codes an endpoint may receive in a close frame. 1004 is reserved, and 1005, 1006 and
 * 1015 "MUST NOT be set as a status code in a Close control frame by an endpoint"; 1012-1014 are
 * registered with IANA since; 3000-4999 belong to libraries and applications.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/**
 * §5.5.1: a close frame's body is empty, or "the first two bytes of the body MUST be a 2-byte
 * unsigned integer (in network byte order) representing a status code", then a UTF-8 reason.
 */
export function parseClosePayload(payload: Buffer): { code: number | undefined; reason: string } {
  if (payload.length === 0) return { code: undefined, reason: "" };
  if (payload.length === 1) {
    throw new WebSocketError("WS_BAD_CLOSE_PAYLOAD", "A close frame with a 1-byte body");
  }
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) {
    throw new WebSocketError("WS_BAD_CLOSE_CODE", `Close code ${code} is not one a peer may send`);
  }
  let reason: string;
  try {
    reason = new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2));
  } catch {
    throw new WebSocketError("WS_BAD_CLOSE_REASON", "A close reason is not valid UTF-8");
  }
  return { code, reason };
}

/** A close frame's body: the code in network byte order, then the reason in UTF-8. */
export function closePayload(code: number | undefined, reason = ""): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const text = Buffer.from(reason, "utf8");
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

export { CLOSE };
