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
import { todo } from "#shared/todo.ts";
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

/**
 * Assembles messages from frames and checks the rules of §5.4, §5.5 and §8.1. The rest of its
 * fields (the message so far) are yours to design.
 */
export class MessageReader {
  private stateNow: MessageReaderState = "between";
  private readonly maxMessageBytes: number;
  private readonly maxFragments: number;

  constructor(options: MessageOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.maxFragments = options.maxFragments ?? MAX_FRAGMENTS;
  }

  get state(): MessageReaderState {
    return todo("lesson-06-websockets", "MessageReader.state", "Step 3");
  }

  /** The next frame, in order; returns what it completed, or undefined: the message goes on. */
  push(frame: Frame): Incoming | undefined {
    // TODO: §5.5: ping, pong and close stand alone, and may come between the fragments of a
    // message; a close frame's payload is read by parseClosePayload().
    // TODO: §5.4: a message is a text or binary frame, then continuation frames, the last with
    // FIN set. A continuation with no message to continue is WS_UNEXPECTED_CONTINUATION; a new
    // text or binary frame inside a message is WS_EXPECTED_CONTINUATION.
    // TODO: Caps: more than maxFragments frames in one message is WS_TOO_MANY_FRAGMENTS, more
    // than maxMessageBytes in all its fragments together WS_PAYLOAD_TOO_LARGE.
    // TODO: §8.1: text is valid UTF-8, or WS_INVALID_UTF8 (close 1007). A character may be cut
    // between two fragments: decode the message's bytes as one stream, not each fragment alone.
    // Failing at the first invalid byte, before the message ends, is allowed.
    return todo("lesson-06-websockets", "MessageReader.push()", "Step 3");
  }
}

/** §7.4: the codes an endpoint may receive in a close frame. */
export function isValidCloseCode(code: number): boolean {
  // TODO: §7.4.1-§7.4.2: 1000-1003 and 1007-1011 are defined, 1012-1014 registered with IANA
  // since, 3000-4999 belong to libraries and applications. 1004 is reserved, and 1005, 1006 and
  // 1015 "MUST NOT be set as a status code in a Close control frame by an endpoint".
  return todo("lesson-06-websockets", "isValidCloseCode()", "Step 3");
}

/** A close frame's payload, read. */
export function parseClosePayload(payload: Buffer): { code: number | undefined; reason: string } {
  // TODO: §5.5.1: the body is empty, or "the first two bytes of the body MUST be a 2-byte
  // unsigned integer (in network byte order) representing a status code", then a UTF-8 reason.
  // One byte is WS_BAD_CLOSE_PAYLOAD, a code a peer may not send WS_BAD_CLOSE_CODE (both 1002),
  // a reason that is not UTF-8 WS_BAD_CLOSE_REASON (1007).
  return todo("lesson-06-websockets", "parseClosePayload()", "Step 3");
}

/** A close frame's body: the code in network byte order, then the reason in UTF-8. */
export function closePayload(code: number | undefined, reason = ""): Buffer {
  // TODO: No code: an empty body. The reason's length is its UTF-8 bytes.
  return todo("lesson-06-websockets", "closePayload()", "Step 3");
}

export { CLOSE };
