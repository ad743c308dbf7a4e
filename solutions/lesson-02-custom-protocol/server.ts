import net from "node:net";
import { execute } from "./commands.ts";
import { encode } from "./encoder.ts";
import { RespParser } from "./parser.ts";
import { error, RespError, simple, type RespValue } from "./resp.ts";
import { Store } from "./store.ts";

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

/** What one connection needs; the listeners below are module-level functions that take it. */
interface Connection {
  readonly socket: net.Socket;
  readonly parser: RespParser;
  readonly store: Store;
  /** Set once the connection is being closed: later input is ignored, as Redis does. */
  closing: boolean;
}

const QUIT_REPLY = encode(simple("OK"));

export function createServer(options: ServerOptions = {}): net.Server {
  const store = options.store ?? new Store();
  const server = net.createServer((socket) => {
    const connection: Connection = {
      socket,
      parser: new RespParser({
        mode: "commands",
        maxBulkLength: options.maxBulkLength ?? 16 * 1024 * 1024,
        maxArrayLength: options.maxArrayLength ?? 1024 * 1024,
        maxLineLength: options.maxLineLength ?? 64 * 1024,
      }),
      store,
      closing: false,
    };
    socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
    socket.on("drain", () => socketOnDrain(connection));
    socket.on("error", socketOnError);
  });

  // Expired keys are also removed on read; this sweep frees the ones nobody reads again. One
  // timer for the whole server, unref'd so that it never keeps the process alive.
  let sweeper: NodeJS.Timeout | undefined;
  server.on("listening", () => {
    sweeper = setInterval(() => store.sweep(), options.sweepInterval ?? 1000);
    sweeper.unref();
  });
  server.on("close", () => clearInterval(sweeper));
  return server;
}

function socketOnData(connection: Connection, chunk: Buffer): void {
  if (connection.closing) return;
  // Every command in this chunk is answered, in order, and the replies go out in one write:
  // a pipelined batch of 1,000 commands costs one write, not 1,000.
  const replies: Buffer[] = [];
  try {
    for (const command of connection.parser.feed(chunk)) {
      const args = wordsOf(command);
      if (args[0]?.toString("latin1").toLowerCase() === "quit") {
        // QUIT is about the connection, not the store: reply, then close.
        replies.push(QUIT_REPLY);
        return close(connection, replies);
      }
      replies.push(encode(execute(args, connection.store)));
    }
  } catch (err) {
    if (!(err instanceof RespError)) throw err;
    // Redis answers a protocol error with `-ERR Protocol error: ...` and closes the connection:
    // after a framing error it cannot know where the next command starts.
    replies.push(encode(error(`ERR ${err.message}`)));
    return close(connection, replies);
  }
  if (replies.length === 0) return;
  // Backpressure: when the client does not read its replies, stop reading its commands.
  if (!connection.socket.write(Buffer.concat(replies))) connection.socket.pause();
}

function socketOnDrain(connection: Connection): void {
  if (!connection.closing) connection.socket.resume();
}

function socketOnError(): void {
  // A reset by the peer is an ordinary end of a connection; the socket closes itself.
}

function close(connection: Connection, replies: Buffer[]): void {
  connection.closing = true;
  connection.socket.end(Buffer.concat(replies));
}

/**
 * In "commands" mode the parser yields only non-empty arrays of non-null bulk strings: a command's
 * words. Anything else is a bug in the parser, not bad input, so it throws a plain Error.
 */
function wordsOf(command: RespValue): Buffer[] {
  if (command.type !== "array" || !command.value?.length) {
    throw new Error(`The commands parser yielded a ${command.type} that is not a command`);
  }
  return command.value.map((word) => {
    if (word.type !== "bulk" || word.value === null) {
      throw new Error(`The commands parser yielded a command word that is a ${word.type}`);
    }
    return word.value;
  });
}
