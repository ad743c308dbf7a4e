/**
 * The errors of this lesson. Two kinds, as RFC 6455 has two phases:
 *
 *   HandshakeError   the opening handshake is refused with an HTTP status (§4.2.1, §4.4)
 *   WebSocketError   once open, the connection fails with a close code (§7.1.7, §7.4.1)
 *
 * Every one has a stable `code`, which tests assert, and the status or close code a server
 * answers it with.
 */

/** Every way a handshake can be refused, and the status the server answers with. */
const STATUS_OF = {
  // The request is not even HTTP/1.1 as lesson 03's parser reads it.
  WS_BAD_REQUEST: 400,
  // §4.1: "The method of the request MUST be GET".
  WS_NOT_GET: 405,
  // §4.1: "the HTTP version MUST be at least 1.1".
  WS_HTTP_VERSION: 400,
  // §4.2.1: an |Upgrade| field containing "websocket", and a |Connection| field containing "Upgrade".
  WS_NO_UPGRADE: 400,
  WS_NO_CONNECTION_UPGRADE: 400,
  // §4.2.2: a version the server does not speak gets 426 and the versions it does.
  WS_BAD_VERSION: 426,
  // §4.2.1: a |Sec-WebSocket-Key| that, "when decoded, is 16 bytes in length".
  WS_BAD_KEY: 400,
  // §10.2: a server that accepts only some origins answers the others with a 403.
  WS_ORIGIN_NOT_ALLOWED: 403,
} as const;

export type HandshakeErrorCode = keyof typeof STATUS_OF;

/** A refused opening handshake: a stable code and the HTTP status it is answered with. */
export class HandshakeError extends Error {
  readonly code: HandshakeErrorCode;
  readonly status: number;

  constructor(code: HandshakeErrorCode, message: string) {
    super(message);
    this.name = "HandshakeError";
    this.code = code;
    this.status = STATUS_OF[code];
  }
}

/** The close codes this lesson sends (RFC 6455 §7.4.1). */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_DATA: 1007,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;

/** Every way an open connection can fail, and the close code it fails with. */
const CLOSE_CODE_OF = {
  // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values".
  WS_RESERVED_BITS: CLOSE.PROTOCOL_ERROR,
  // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket
  // Connection_."
  WS_RESERVED_OPCODE: CLOSE.PROTOCOL_ERROR,
  // §5.1: "The server MUST close the connection upon receiving a frame that is not masked", and
  // "A client MUST close a connection if it detects a masked frame".
  WS_UNMASKED_FRAME: CLOSE.PROTOCOL_ERROR,
  WS_MASKED_FRAME: CLOSE.PROTOCOL_ERROR,
  // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
  // fragmented."
  WS_CONTROL_FRAME_TOO_LONG: CLOSE.PROTOCOL_ERROR,
  WS_FRAGMENTED_CONTROL_FRAME: CLOSE.PROTOCOL_ERROR,
  // §5.2: in a 64-bit length, "the most significant bit MUST be 0".
  WS_BAD_LENGTH: CLOSE.PROTOCOL_ERROR,
  // A length JavaScript cannot count exactly (over 2^53 - 1), or over the server's cap.
  WS_LENGTH_TOO_LARGE: CLOSE.MESSAGE_TOO_BIG,
  WS_PAYLOAD_TOO_LARGE: CLOSE.MESSAGE_TOO_BIG,
  WS_TOO_MANY_FRAGMENTS: CLOSE.MESSAGE_TOO_BIG,
  // §5.4: a continuation frame only continues a message; a new data frame only starts one.
  WS_UNEXPECTED_CONTINUATION: CLOSE.PROTOCOL_ERROR,
  WS_EXPECTED_CONTINUATION: CLOSE.PROTOCOL_ERROR,
  // §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream
  // is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_."
  WS_INVALID_UTF8: CLOSE.INVALID_DATA,
  // §5.5.1: a close body is empty, or a 2-byte code then a UTF-8 reason; §7.4: codes in range.
  WS_BAD_CLOSE_PAYLOAD: CLOSE.PROTOCOL_ERROR,
  WS_BAD_CLOSE_CODE: CLOSE.PROTOCOL_ERROR,
  WS_BAD_CLOSE_REASON: CLOSE.INVALID_DATA,
} as const;

export type WebSocketErrorCode = keyof typeof CLOSE_CODE_OF;

/** A failed WebSocket connection: a stable code and the close code it is failed with. */
export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode;
  readonly closeCode: number;

  constructor(code: WebSocketErrorCode, message: string) {
    super(message);
    this.name = "WebSocketError";
    this.code = code;
    this.closeCode = CLOSE_CODE_OF[code];
  }
}
