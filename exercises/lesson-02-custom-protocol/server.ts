import type net from "node:net";
import { todo } from "#shared/todo.ts";
import type { Store } from "./store.ts";

/**
 * A key-value server that speaks RESP2, so that ioredis, redis-cli and redis-benchmark can use it.
 *
 *   bytes -> RespParser("commands") -> words -> execute() -> reply -> encode() -> bytes
 */

export interface ServerOptions {
  /** The store to serve; a new empty one by default. */
  store?: Store;
  /** Largest bulk string accepted from a client. Redis allows 512 MiB; this server 16 MiB. */
  maxBulkLength?: number;
  /** Most words in one command. */
  maxArrayLength?: number;
  /** Longest inline command or header line. */
  maxLineLength?: number;
  /** How often expired keys are swept, in ms. */
  sweepInterval?: number;
}

export function createServer(options: ServerOptions = {}): net.Server {
  // TODO: Create a net.Server. For each connection keep { socket, parser, store, closing }:
  //       a RespParser in "commands" mode with the caps (defaults: 16 MiB bulk, 1024 * 1024
  //       words, 64 KiB lines). Listen to "data", "drain" and "error" with named functions.
  // TODO: On data (unless closing): answer every command the parser yields, in order, and send
  //       the replies in one write: a pipelined batch of 1,000 commands costs one write.
  //       QUIT is about the connection, not the store: reply +OK, then close.
  // TODO: A RespError from the parser: Redis answers `-ERR Protocol error: ...` and closes the
  //       connection, since after a framing error it cannot know where the next command
  //       starts. Send the replies so far plus that error, mark the connection closing, end it.
  // TODO: Backpressure: when write() returns false, pause the socket; resume it on "drain".
  // TODO: A reset by the peer ("error") is an ordinary end of a connection: nothing to do.
  // TODO: Sweep expired keys on one setInterval started on "listening", unref'd so that it
  //       never keeps the process alive, and cleared on "close".
  return todo("lesson-02-custom-protocol", "createServer()", "Step 3");
}
