import type net from "node:net";
import { todo } from "#shared/todo.ts";
import type { RespParser } from "./parser.ts";
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

/**
 * What one connection needs, for module-level listeners (`socketOnData`, `socketOnDrain`, ...)
 * that take it. A connection has one named state: "open" while commands are read and answered,
 * "closing" once the server has sent its last reply (after QUIT or a protocol error).
 */
interface Connection {
  readonly socket: net.Socket;
  readonly parser: RespParser;
  readonly store: Store;
  state: "open" | "closing";
}

export function createServer(options: ServerOptions = {}): net.Server {
  // TODO: Per connection, a RespParser in "commands" mode with the caps (defaults: 16 MiB bulk
  //       strings, 1024 * 1024 words, 64 KiB lines).
  // TODO: Pipelining: answer every command a chunk completes, in order, and send the replies in
  //       one write. QUIT is about the connection, not the store: reply +OK, then close;
  //       nothing after it is answered.
  // TODO: A RespError from the parser: as Redis does, send the replies so far and
  //       `-ERR <its message>`, then end the connection: after a framing error nothing says
  //       where the next command starts. Anything else thrown is a bug, not bad input: reply
  //       `-ERR` with its message and close that connection only; nothing a client sends may
  //       throw out of a socket listener.
  // TODO: Backpressure: when write() returns false, stop reading that client's commands until
  //       "drain".
  // TODO: A reset by the peer ("error") is an ordinary end of a connection.
  // TODO: Sweep expired keys on one timer for the whole server, that never keeps the process
  //       alive, started when it listens and stopped when it closes. Nothing may throw out of
  //       the timer (an uncaught exception ends the process): if sweep() throws, stop the timer.
  return todo("lesson-02-custom-protocol", "createServer()", "Step 3");
}
