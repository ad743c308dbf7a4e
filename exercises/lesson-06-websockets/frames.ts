/**
 * WebSocket frames (RFC 6455 §5.2): an incremental parser and an encoder.
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * A TCP chunk is not a frame: it may hold a piece of one, or thousands. The parser keeps the bytes
 * it has not used yet and moves through named states, each waiting for the bytes it needs:
 *
 *   header      2 bytes: FIN, RSV1-3, opcode, MASK, the 7-bit length
 *   length-16   2 more bytes when the 7-bit length is 126
 *   length-64   8 more bytes when it is 127
 *   mask-key    4 bytes, in every frame a client sends
 *   payload     as many bytes as the length said
 */
import { todo } from "#shared/todo.ts";
import { WebSocketError } from "./errors.ts";

/** §5.2 and §11.8: the opcodes RFC 6455 defines; every other value is reserved. */
export const OPCODE = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export type Opcode = (typeof OPCODE)[keyof typeof OPCODE];

/** One frame, its payload unmasked. */
export interface Frame {
  fin: boolean;
  opcode: Opcode;
  /** Whether the frame came masked (every client frame must). */
  masked: boolean;
  payload: Buffer;
}

export type FrameParserState = "header" | "length-16" | "length-64" | "mask-key" | "payload";

export interface FrameParserOptions {
  /**
   * Which side reads the frames: a server's parser refuses unmasked frames, a client's refuses
   * masked ones (§5.1). "server" by default.
   */
  role?: "server" | "client";
  /** Cap on one frame's payload (bytes); more is close 1009. */
  maxPayloadBytes?: number;
}

/** Largest frame payload a parser accepts unless told otherwise. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * An incremental frame parser: `feed(chunk)` returns the frames the chunk completed. The rest of
 * its fields (the bytes not used yet, the frame being read) are yours to design.
 */
export class FrameParser {
  private stateNow: FrameParserState = "header";
  private readonly role: "server" | "client";
  private readonly maxPayloadBytes: number;

  constructor(options: FrameParserOptions = {}) {
    this.role = options.role ?? "server";
    this.maxPayloadBytes = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  }

  /** What the parser waits for now. */
  get state(): FrameParserState {
    // TODO: The named state the parser is in, as feed() moves it along.
    return todo("lesson-06-websockets", "FrameParser.state", "Step 2");
  }

  /**
   * Consumes a chunk as it came off the socket and returns the frames it completed: none (need
   * more bytes), one or many. Throws a WebSocketError at the first frame that breaks §5; the
   * parser is then unusable, as is the connection.
   */
  feed(chunk: Buffer): Frame[] {
    // TODO: A TCP chunk is not a frame: keep the bytes not used yet, and drive the states from
    // one loop, each state first checking that the bytes it needs are there ("need more bytes"
    // ends the loop), then taking them. Thousands of frames may come in one chunk.
    // TODO: §5.2 header: FIN, RSV1-3 (non-zero without a negotiated extension:
    // WS_RESERVED_BITS), the opcode (a reserved one: WS_RESERVED_OPCODE), MASK, the 7-bit length:
    // 126 means a 16-bit length follows, 127 a 64-bit one, both in network byte order (big-endian).
    // TODO: §5.1: a server's parser refuses an unmasked frame (WS_UNMASKED_FRAME), a client's a
    // masked one (WS_MASKED_FRAME).
    // TODO: §5.5: a control frame (opcode 0x8 and up) has FIN set (WS_FRAGMENTED_CONTROL_FRAME)
    // and at most 125 bytes (WS_CONTROL_FRAME_TOO_LONG).
    // TODO: §5.2: in a 64-bit length "the most significant bit MUST be 0" (WS_BAD_LENGTH); a
    // length over 2^53 - 1 cannot be counted exactly (WS_LENGTH_TOO_LARGE); one over
    // maxPayloadBytes is refused from the header, before its payload is read (WS_PAYLOAD_TOO_LARGE).
    // TODO: §5.3: octet i of the payload is XORed with octet i % 4 of the masking key. Unmask into
    // a new buffer: the chunk is the caller's.
    // TODO: After a WebSocketError, every later feed() throws it again; the frames this call
    // completed before the bad one are kept for completedBeforeError.
    return todo("lesson-06-websockets", "FrameParser.feed()", "Step 2");
  }

  /**
   * The frames that the feed() call which threw had completed before the bad one. They are whole
   * and are handled as if the bad frame had come in a later chunk.
   */
  get completedBeforeError(): readonly Frame[] {
    return todo("lesson-06-websockets", "FrameParser.completedBeforeError", "Step 2");
  }
}

/** What encodeFrame() writes. */
export interface OutgoingFrame {
  /** false for every fragment of a message but its last; true by default. */
  fin?: boolean;
  opcode: Opcode;
  payload: Buffer;
  /** A client's 4-byte masking key; a server sends no mask (§5.1). */
  mask?: Buffer;
}

/** One frame's bytes. */
export function encodeFrame(frame: OutgoingFrame): Buffer {
  // TODO: §5.2: "the minimal number of bytes MUST be used to encode the length": 7 bits up to
  // 125, 126 and a 16-bit length up to 65,535, 127 and a 64-bit length beyond. The length is the
  // payload's bytes.
  // TODO: §5.1: with a mask, MASK is 1, the key follows the length, and the payload is XORed
  // with it (§5.3); a server's frames have none.
  return todo("lesson-06-websockets", "encodeFrame()", "Step 2");
}
