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

/** Largest integer a JavaScript number holds exactly: a longer 64-bit length is refused. */
const MAX_SAFE_LENGTH = Number.MAX_SAFE_INTEGER;

/** An incremental frame parser: `feed(chunk)` returns the frames the chunk completed. */
export class FrameParser {
  private stateNow: FrameParserState = "header";
  private readonly role: "server" | "client";
  private readonly maxPayloadBytes: number;
  private failure: WebSocketError | undefined;
  private beforeFailure: Frame[] = [];

  // The bytes not consumed yet, as they came, and how many there are.
  private buffers: Buffer[] = [];
  private buffered = 0;

  // The frame being read.
  private fin = false;
  private opcode: Opcode = OPCODE.CONTINUATION;
  private masked = false;
  private length = 0;
  private mask: Buffer | undefined;

  constructor(options: FrameParserOptions = {}) {
    this.role = options.role ?? "server";
    this.maxPayloadBytes = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  }

  /** What the parser waits for now. */
  get state(): FrameParserState {
    return this.stateNow;
  }

  /**
   * Consumes a chunk as it came off the socket and returns the frames it completed: none (need
   * more bytes), one or many. Throws a WebSocketError at the first frame that breaks §5; the
   * parser is then unusable, as is the connection.
   */
  feed(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    const done: Frame[] = [];
    if (chunk.length > 0) {
      this.buffers.push(chunk);
      this.buffered += chunk.length;
    }
    try {
      this.loop(done);
      return done;
    } catch (error) {
      if (error instanceof WebSocketError) {
        this.failure = error;
        this.beforeFailure = done;
      }
      throw error;
    }
  }

  /**
   * The frames that the feed() call which threw had completed before the bad one. They are whole
   * and are handled as if the bad frame had come in a later chunk.
   */
  get completedBeforeError(): readonly Frame[] {
    return this.beforeFailure;
  }

  /** One loop, one case per state; a case that lacks bytes returns: "need more bytes". */
  private loop(done: Frame[]): void {
    for (;;) {
      switch (this.stateNow) {
        case "header": {
          if (this.buffered < 2) return;
          this.readHeader(this.consume(2));
          break;
        }
        case "length-16": {
          if (this.buffered < 2) return;
          this.length = this.consume(2).readUInt16BE(0);
          this.afterLength();
          break;
        }
        case "length-64": {
          if (this.buffered < 8) return;
          const bytes = this.consume(8);
          const high = bytes.readUInt32BE(0);
          // §5.2: "the most significant bit MUST be 0".
          if (high >= 0x8000_0000) {
            throw new WebSocketError(
              "WS_BAD_LENGTH",
              "A 64-bit payload length has its top bit set",
            );
          }
          const length = high * 2 ** 32 + bytes.readUInt32BE(4);
          if (length > MAX_SAFE_LENGTH) {
            throw new WebSocketError(
              "WS_LENGTH_TOO_LARGE",
              `A payload length of ${bytes.readBigUInt64BE(0)} bytes is more than 2^53 - 1`,
            );
          }
          this.length = length;
          this.afterLength();
          break;
        }
        case "mask-key": {
          if (this.buffered < 4) return;
          this.mask = this.consume(4);
          this.stateNow = "payload";
          break;
        }
        case "payload": {
          if (this.buffered < this.length) return;
          done.push(this.finish(this.consume(this.length)));
          break;
        }
      }
    }
  }

  /** The first two bytes: every rule that a header alone can break is checked here. */
  private readHeader(bytes: Buffer): void {
    const [first = 0, second = 0] = bytes;
    this.fin = (first & 0x80) !== 0;
    // §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated"; this server negotiates none.
    if ((first & 0x70) !== 0) {
      throw new WebSocketError(
        "WS_RESERVED_BITS",
        `RSV bits ${(first & 0x70) >> 4} set without an extension`,
      );
    }
    const opcode = first & 0x0f;
    if (!isOpcode(opcode)) {
      throw new WebSocketError("WS_RESERVED_OPCODE", `Opcode 0x${opcode.toString(16)} is reserved`);
    }
    this.opcode = opcode;
    this.masked = (second & 0x80) !== 0;
    // §5.1: "a client MUST mask all frames that it sends to the server ... A server MUST NOT mask
    // any frames that it sends to the client."
    if (this.role === "server" && !this.masked) {
      throw new WebSocketError("WS_UNMASKED_FRAME", "A client frame is not masked");
    }
    if (this.role === "client" && this.masked) {
      throw new WebSocketError("WS_MASKED_FRAME", "A server frame is masked");
    }
    const length7 = second & 0x7f;
    // §5.5: control frames (opcode 0x8 and up) "MUST have a payload length of 125 bytes or less
    // and MUST NOT be fragmented".
    if (opcode >= OPCODE.CLOSE) {
      if (!this.fin) {
        throw new WebSocketError(
          "WS_FRAGMENTED_CONTROL_FRAME",
          `A control frame (opcode 0x${opcode.toString(16)}) has FIN 0`,
        );
      }
      if (length7 > 125) {
        throw new WebSocketError(
          "WS_CONTROL_FRAME_TOO_LONG",
          `A control frame's payload length is more than 125 bytes`,
        );
      }
    }
    // §5.2: "If 126, the following 2 bytes interpreted as a 16-bit unsigned integer are the
    // payload length. If 127, the following 8 bytes interpreted as a 64-bit unsigned integer".
    if (length7 === 126) this.stateNow = "length-16";
    else if (length7 === 127) this.stateNow = "length-64";
    else {
      this.length = length7;
      this.afterLength();
    }
  }

  private afterLength(): void {
    if (this.length > this.maxPayloadBytes) {
      throw new WebSocketError(
        "WS_PAYLOAD_TOO_LARGE",
        `A frame of ${this.length} bytes is more than the ${this.maxPayloadBytes} accepted`,
      );
    }
    this.stateNow = this.masked ? "mask-key" : "payload";
  }

  private finish(data: Buffer): Frame {
    // §5.3: "octet i of the transformed data is the XOR of octet i of the original data with
    // octet at index i modulo 4 of the masking key". Into a new buffer: `data` may be a piece of
    // the caller's chunk.
    let payload = data;
    if (this.mask !== undefined) {
      payload = Buffer.allocUnsafe(data.length);
      for (let i = 0; i < data.length; i++) {
        payload[i] = (data[i] as number) ^ (this.mask[i & 3] as number);
      }
    }
    const frame: Frame = { fin: this.fin, opcode: this.opcode, masked: this.masked, payload };
    this.mask = undefined;
    this.length = 0;
    this.stateNow = "header";
    return frame;
  }

  /** Takes `n` buffered bytes (the caller has checked they are there). */
  private consume(n: number): Buffer {
    this.buffered -= n;
    const first = this.buffers[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (n === first.length) return this.buffers.shift() as Buffer;
    if (n < first.length) {
      this.buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    // The bytes span chunks: copy them together, each chunk once.
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const buffer = this.buffers[0] as Buffer;
      const take = Math.min(buffer.length, n - at);
      buffer.copy(out, at, 0, take);
      at += take;
      if (take === buffer.length) this.buffers.shift();
      else this.buffers[0] = buffer.subarray(take);
    }
    return out;
  }
}

function isOpcode(value: number): value is Opcode {
  return value <= OPCODE.BINARY || (value >= OPCODE.CLOSE && value <= OPCODE.PONG);
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

/**
 * One frame's bytes. §5.2: "the minimal number of bytes MUST be used to encode the length": 7
 * bits up to 125, 16 bits up to 65,535, 64 bits beyond.
 */
export function encodeFrame(frame: OutgoingFrame): Buffer {
  const { payload, mask } = frame;
  const length = payload.length;
  const extended = length <= 125 ? 0 : length <= 0xffff ? 2 : 8;
  const maskBytes = mask === undefined ? 0 : 4;
  const out = Buffer.allocUnsafe(2 + extended + maskBytes + length);
  out[0] = (frame.fin === false ? 0 : 0x80) | frame.opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  if (extended === 0) {
    out[1] = maskBit | length;
  } else if (extended === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = maskBit | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const start = 2 + extended + maskBytes;
  if (mask === undefined) {
    payload.copy(out, start);
  } else {
    mask.copy(out, 2 + extended, 0, 4);
    for (let i = 0; i < length; i++) {
      out[start + i] = (payload[i] as number) ^ (mask[i & 3] as number);
    }
  }
  return out;
}
