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
 *
 * Given: Status, GrpcWireError and the constants. Yours: the functions and the deframer.
 */
import { todo } from "#shared/todo.ts";

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
  // TODO: PROTOCOL-HTTP2.md, "Length-Prefixed-Message": the Compressed-Flag (one unsigned byte,
  // 1 when `compressed`, else 0), the Message-Length (a 4-byte unsigned integer, big endian),
  // then the message's bytes.
  return todo("lesson-10-grpc", "frameMessage()", "Step 2");
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

  constructor(options: { maxMessageBytes?: number } = {}) {
    // TODO: keep the limit (options.maxMessageBytes, default DEFAULT_MAX_MESSAGE_BYTES) and an
    // empty buffer.
    todo("lesson-10-grpc", "new MessageDeframer()", "Step 2");
  }

  feed(chunk: Uint8Array): LengthPrefixedMessage[] {
    // TODO: PROTOCOL-HTTP2.md, "Data Frames": "DATA frame boundaries have no relation to
    // Length-Prefixed-Message boundaries". Return every message the bytes so far complete (none,
    // one or several; a 0-length message is a message) and keep the rest for the next feed().
    // A Compressed-Flag other than 0 or 1 throws GRPC_BAD_COMPRESSED_FLAG (INTERNAL); a
    // Message-Length over the limit throws GRPC_MESSAGE_TOO_LARGE (RESOURCE_EXHAUSTED,
    // statuscodes.md), as soon as the prefix says so.
    return todo("lesson-10-grpc", "MessageDeframer.feed()", "Step 2");
  }

  /**
   * Called at the end of the stream: bytes left over are a message cut short, which gRPC's
   * framing cannot explain (INTERNAL).
   */
  end(): void {
    // TODO: throw GRPC_TRUNCATED_MESSAGE (INTERNAL) if the stream ended inside a prefix or a
    // message; at a message boundary, do nothing.
    return todo("lesson-10-grpc", "MessageDeframer.end()", "Step 2");
  }
}

/**
 * A status message as `grpc-message` carries it: UTF-8, then every byte outside 0x20–0x7E, and
 * '%' itself, as %XX with upper-case hex digits, `%C3%A9` for é (PROTOCOL-HTTP2.md,
 * "Percent-Byte-Unencoded → 1*( %x20-%x24 / %x26-%x7E )").
 */
export function encodeGrpcMessage(text: string): string {
  // TODO: PROTOCOL-HTTP2.md, "Status-Message" and "Percent-Encoded": bytes, not characters.
  return todo("lesson-10-grpc", "encodeGrpcMessage()", "Step 2");
}

/**
 * The text of a `grpc-message`. "When decoding invalid values, implementations MUST NOT error or
 * throw away the message": a '%' not followed by two hex digits stays as it is.
 */
export function decodeGrpcMessage(value: string): string {
  // TODO: each %XX is one byte (hex digits in either case); the bytes are UTF-8.
  return todo("lesson-10-grpc", "decodeGrpcMessage()", "Step 2");
}

/**
 * A `grpc-timeout` value in milliseconds. PROTOCOL-HTTP2.md: "TimeoutValue → {positive integer as
 * ASCII string of at most 8 digits}", then one TimeoutUnit: H, M, S, m, u or n. Anything else
 * throws GRPC_BAD_TIMEOUT.
 */
export function parseTimeout(value: string): number {
  // TODO: PROTOCOL-HTTP2.md, "Timeout": hours, minutes, seconds, milliseconds, microseconds,
  // nanoseconds. The error (status INTERNAL) names the value.
  return todo("lesson-10-grpc", "parseTimeout()", "Step 2");
}
