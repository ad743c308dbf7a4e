/**
 * The shape of one Autobahn|Testsuite case, as data: what the fuzzing client sends, the events it
 * expects back for each grade, and how the connection must end. It follows Autobahn's own case
 * classes (autobahntestsuite/case/case*.py): `expected` is their `self.expected`, `close` their
 * `self.expectedClose`, `deadline` their `killAfter`/`closeAfter`.
 */

/** A grade as Autobahn gives it. */
export type Grade = "OK" | "NON-STRICT" | "FAILED" | "INFORMATIONAL";

/** What the fuzzing client records, in order, as Autobahn's `self.received` does. */
export type Event =
  | { kind: "message"; data: Buffer; binary: boolean }
  | { kind: "ping"; data: Buffer }
  | { kind: "pong"; data: Buffer }
  /** A pause of the case went by with the connection still open (Autobahn's "timeout"). */
  | { kind: "timeout"; tag: string };

export interface FrameSpec {
  opcode: number;
  /** Default true. */
  fin?: boolean;
  /** The three RSV bits as a number, 0 to 7. */
  rsv?: number;
  payload?: Buffer;
  /** Repeat the payload up to this many bytes (Autobahn's `payload_len`). */
  length?: number;
}

export type Step =
  /**
   * One frame, masked. Frames without `chop` or `sync` are written together, in one write, with
   * those around them; `sync` writes the frame on its own; `chop` writes it `chop` bytes at a
   * time. `pauses` stops partway through the frame's payload, at these payload offsets.
   */
  | { frame: FrameSpec; sync?: boolean; chop?: number; pauses?: { at: number; tag: string }[] }
  /** A whole message, split into frames of `fragmentSize` bytes if given. */
  | { message: Buffer; binary?: boolean; fragmentSize?: number }
  /** The client's Close frame: it starts the closing handshake. Code and reason are sent as given. */
  | { close: { code?: number; reason?: Buffer } }
  /** Wait; if the connection is still open after it, record a timeout event and go on. */
  | { pause: string }
  /** Wait until this many events were received (at most the case's pause), then go on. */
  | { waitForEvents: number };

export interface ExpectedClose {
  /** Whether the client is the one that starts the closing handshake. */
  closedByMe: boolean;
  /** The close codes the server may send (no code at all is also accepted, as Autobahn does). */
  codes: number[];
  /** Whether the connection must end with a completed closing handshake, not a dropped TCP. */
  requireClean: boolean;
  /** The server failing to fail the connection fails the case (the UTF-8 cases). */
  wrongEndpointIsFatal?: boolean;
}

export interface AutobahnCase {
  /** Autobahn's case id, "1.1.1". */
  id: string;
  description: string;
  expectation: string;
  steps: Step[];
  expected: { OK: Event[]; "NON-STRICT"?: Event[] };
  close: ExpectedClose;
  /**
   * When the case has not ended after `ms`: "kill" fails the connection (Close 1001), "close"
   * starts a normal closing handshake (Close 1000).
   */
  deadline: { after: "kill" | "close"; ms: number };
  /** The case sends its own Close frame: do not close once the expected events are in. */
  suppressClose?: boolean;
  /** A WRONG CODE in the closing behaviour fails the case (the close cases of group 7). */
  wrongCodeFails?: boolean;
  /** Behaviour left open by the RFC: the case reports what happened and grades INFORMATIONAL. */
  informational?: boolean;
}

// RFC 6455 §5.2 opcodes and §7.4.1 close codes, as the table spells them.
export const CONTINUATION = 0x0;
export const TEXT = 0x1;
export const BINARY = 0x2;
export const CLOSE = 0x8;
export const PING = 0x9;
export const PONG = 0xa;
export const NORMAL = 1000;
export const GOING_AWAY = 1001;
export const PROTOCOL_ERROR = 1002;
export const INVALID_PAYLOAD = 1007;

/** Text as UTF-8 bytes. */
export const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");
/** Bytes written as hex: `hex("ceba")`. */
export const hex = (digits: string): Buffer => Buffer.from(digits.replace(/\s+/g, ""), "hex");

export const message = (data: Buffer, binary = false): Event => ({ kind: "message", data, binary });
export const pong = (data: Buffer = Buffer.alloc(0)): Event => ({ kind: "pong", data });
export const timeout = (tag: string): Event => ({ kind: "timeout", tag });

/** Echo cases: the client closes normally once the echo is in, and the close must be clean. */
export const CLEAN_NORMAL_CLOSE: ExpectedClose = {
  closedByMe: true,
  codes: [NORMAL],
  requireClean: true,
};
/** Protocol violations: the server fails the connection, with 1002 or by dropping the TCP. */
export const FAILED_BY_SERVER: ExpectedClose = {
  closedByMe: false,
  codes: [PROTOCOL_ERROR],
  requireClean: false,
};
