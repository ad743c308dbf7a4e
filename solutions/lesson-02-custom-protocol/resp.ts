/**
 * The vocabulary of RESP2, Redis's wire protocol: the five kinds of value, and the one error class
 * the parser and encoder throw. https://redis.io/docs/latest/develop/reference/protocol-spec/
 *
 * Every value keeps its kind, because the kind is part of the message: `+OK\r\n` (a simple string)
 * and `$2\r\nOK\r\n` (a bulk string) both hold "OK", and `$-1\r\n` (no value) is not `$0\r\n\r\n`
 * (an empty value).
 */

export type RespValue = SimpleString | ErrorReply | Integer | BulkString | RespArray;

/** `+OK\r\n`: a short line of text that cannot contain CR or LF. */
export interface SimpleString {
  readonly type: "simple";
  readonly value: string;
}

/** `-ERR unknown command\r\n`: like a simple string, but the client raises it as an error. */
export interface ErrorReply {
  readonly type: "error";
  readonly message: string;
}

/** `:1000\r\n`: a signed 64-bit integer. A JS number holds only 53 bits exactly, hence bigint. */
export interface Integer {
  readonly type: "integer";
  readonly value: bigint;
}

/** `$5\r\nhello\r\n`: any bytes, length first. `$-1\r\n` is the null bulk string (value null). */
export interface BulkString {
  readonly type: "bulk";
  readonly value: Buffer | null;
}

/** `*2\r\n...`: a count, then that many values of any kind. `*-1\r\n` is the null array. */
export interface RespArray {
  readonly type: "array";
  readonly value: RespValue[] | null;
}

export const simple = (value: string): SimpleString => ({ type: "simple", value });
export const error = (message: string): ErrorReply => ({ type: "error", message });
export const integer = (value: number | bigint): Integer => ({
  type: "integer",
  value: BigInt(value),
});
export const bulk = (value: string | Buffer): BulkString => ({
  type: "bulk",
  // A string becomes its UTF-8 bytes here, so every length computed later counts bytes.
  value: typeof value === "string" ? Buffer.from(value, "utf8") : value,
});
export const array = (items: RespValue[]): RespArray => ({ type: "array", value: items });
export const NULL_BULK: BulkString = { type: "bulk", value: null };
export const NULL_ARRAY: RespArray = { type: "array", value: null };

export type RespErrorCode =
  /** The first byte of a value is none of `+ - : $ *`. */
  | "RESP_UNKNOWN_TYPE"
  /** A line ends in a bare LF, or bulk data is not followed by CRLF. */
  | "RESP_EXPECTED_CRLF"
  /** A `$` length is not a number, is below -1, or is above the cap. */
  | "RESP_INVALID_BULK_LENGTH"
  /** A `*` count is not a number, is below -1, or is above the cap. */
  | "RESP_INVALID_ARRAY_LENGTH"
  /** A `:` integer is not a signed 64-bit decimal. */
  | "RESP_INVALID_INTEGER"
  /** A line (header, simple string, inline command) runs past the cap without its CRLF. */
  | "RESP_LINE_TOO_LONG"
  /** In a command, an array item is not a bulk string. */
  | "RESP_EXPECTED_BULK"
  /** An inline command has a quote that is not closed, or is followed by more than a space. */
  | "RESP_UNBALANCED_QUOTES"
  /** The encoder was given a simple string or error containing CR or LF. */
  | "RESP_INVALID_SIMPLE_STRING"
  /** The client received an error reply; the message is the server's. */
  | "RESP_ERROR_REPLY"
  /** The client received a reply while no command was waiting for one. */
  | "RESP_UNEXPECTED_REPLY"
  /** The client's connection closed with commands still waiting for replies. */
  | "RESP_CONNECTION_CLOSED";

/**
 * The one error class of this protocol. `code` is stable, for programs; `message` is for people,
 * and for protocol errors it is worded as Redis words it, so a server can reply `-ERR <message>`.
 */
export class RespError extends Error {
  readonly code: RespErrorCode;

  constructor(code: RespErrorCode, message: string) {
    super(message);
    this.name = "RespError";
    this.code = code;
  }
}
