/**
 * gRPC's own layer on top of HTTP/2, as gRPC's PROTOCOL-HTTP2.md writes it:
 *
 *   - each message travels as a Length-Prefixed-Message: a 1-byte Compressed-Flag, a 4-byte
 *     big-endian Message-Length, then the message's protobuf bytes;
 *
 *         00 | 00 00 00 05 | 0a 03 31 32 33      flag 0, length 5, GetUserRequest { id: "123" }
 *
 *   - DATA frames have no relation to those boundaries: one message may be cut over several DATA
 *     frames, and one DATA frame may hold several messages. The deframer finds them again;
 *   - the call ends with a Status (`grpc-status`, a decimal code) and a Status-Message
 *     (`grpc-message`, UTF-8 then percent-encoded) in the trailers;
 *   - `grpc-timeout` says how long the client waits: 1 to 8 ASCII digits and a unit.
 */

/** gRPC's status codes (doc/statuscodes.md); `grpc-status` carries the number. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];

export type GrpcWireErrorCode =
  | "GRPC_MESSAGE_TOO_LARGE"
  | "GRPC_BAD_COMPRESSED_FLAG"
  | "GRPC_TRUNCATED_MESSAGE"
  | "GRPC_BAD_TIMEOUT";

/** A broken rule of gRPC's framing, with the status a server answers it with. */
export class GrpcWireError extends Error {
  readonly code: GrpcWireErrorCode;
  readonly status: StatusCode;

  constructor(code: GrpcWireErrorCode, status: StatusCode, message: string) {
    super(message);
    this.name = "GrpcWireError";
    this.code = code;
    this.status = status;
  }
}

/** The bytes in front of every message: the Compressed-Flag and the Message-Length. */
export const PREFIX_BYTES = 5;

/** The largest message a deframer takes by default: 4 MiB, grpc-js's and C core's default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** One message as it came off the wire: its Compressed-Flag and its bytes, still encoded. */
export interface LengthPrefixedMessage {
  compressed: boolean;
  message: Buffer;
}

/** A message with its 5-byte prefix in front, ready to write in DATA frames. */
export function frameMessage(message: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.alloc(PREFIX_BYTES + message.length);
  // PROTOCOL-HTTP2.md, "Length-Prefixed-Message": Compressed-Flag, one unsigned byte, 0 or 1;
  // Message-Length, a 4-byte unsigned integer, big endian.
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/** Where the deframer is: reading a 5-byte prefix, or the message bytes a prefix announced. */
export type DeframerState = "prefix" | "message";

/**
 * The messages of one direction of one call, found again in its DATA frames however they were
 * cut: feed() takes the bytes of a DATA frame and returns the messages they completed, keeping the
 * rest for the next one.
 */
export class MessageDeframer {
  state: DeframerState = "prefix";
  private readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private compressed = false;
  private length = 0;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  feed(chunk: Uint8Array): LengthPrefixedMessage[] {
    const messages: LengthPrefixedMessage[] = [];
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.buffered += chunk.length;
    for (;;) {
      if (this.state === "prefix") {
        if (this.buffered < PREFIX_BYTES) break;
        const prefix = this.take(PREFIX_BYTES);
        const flag = prefix[0] as number;
        if (flag > 1) {
          throw new GrpcWireError(
            "GRPC_BAD_COMPRESSED_FLAG",
            Status.INTERNAL,
            `Compressed-Flag must be 0 or 1, got ${flag}`,
          );
        }
        this.compressed = flag === 1;
        this.length = prefix.readUInt32BE(1);
        if (this.length > this.maxMessageBytes) {
          // statuscodes.md: a message larger than the configured limit is RESOURCE_EXHAUSTED.
          throw new GrpcWireError(
            "GRPC_MESSAGE_TOO_LARGE",
            Status.RESOURCE_EXHAUSTED,
            `Received message larger than max (${this.length} vs. ${this.maxMessageBytes})`,
          );
        }
        this.state = "message";
      } else {
        if (this.buffered < this.length) break;
        messages.push({ compressed: this.compressed, message: this.take(this.length) });
        this.state = "prefix";
      }
    }
    return messages;
  }

  /**
   * Called at the end of the stream: bytes left over are a message cut short, which gRPC's
   * framing cannot explain (INTERNAL).
   */
  end(): void {
    if (this.state === "message" || this.buffered > 0) {
      throw new GrpcWireError(
        "GRPC_TRUNCATED_MESSAGE",
        Status.INTERNAL,
        this.state === "message"
          ? `The stream ended ${this.buffered} bytes into a ${this.length}-byte message`
          : `The stream ended ${this.buffered} bytes into a 5-byte message prefix`,
      );
    }
  }

  /** The first `n` buffered bytes (n <= buffered), removed from the buffer. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }
}

/**
 * A status message as `grpc-message` carries it: UTF-8, then every byte outside 0x20–0x7E, and
 * '%' itself, as %XX with upper-case hex digits, `%C3%A9` for é (PROTOCOL-HTTP2.md,
 * "Percent-Byte-Unencoded → 1*( %x20-%x24 / %x26-%x7E )").
 */
export function encodeGrpcMessage(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The text of a `grpc-message`. "When decoding invalid values, implementations MUST NOT error or
 * throw away the message": a '%' not followed by two hex digits stays as it is.
 */
export function decodeGrpcMessage(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] as string, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Milliseconds in one of each TimeoutUnit. */
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * A `grpc-timeout` value in milliseconds. PROTOCOL-HTTP2.md: "TimeoutValue → {positive integer as
 * ASCII string of at most 8 digits}", then one TimeoutUnit: H, M, S, m, u or n. Anything else
 * throws GRPC_BAD_TIMEOUT.
 */
export function parseTimeout(value: string): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) {
    throw new GrpcWireError(
      "GRPC_BAD_TIMEOUT",
      Status.INTERNAL,
      `Invalid grpc-timeout value ${JSON.stringify(value)}: 1 to 8 digits and a unit (H, M, S, m, u, n)`,
    );
  }
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}
