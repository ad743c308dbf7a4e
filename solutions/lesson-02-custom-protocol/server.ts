import net from "node:net";
import { execute } from "./commands.ts";
import { encode } from "./encoder.ts";
import { RespParser } from "./parser.ts";
import { RespError, simple, type BulkString, type RespArray, type RespValue } from "./resp.ts";
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
  /** Most words in one command; 1024 * 1024 by default. */
  maxArrayLength?: number;
  /** Longest inline command or header line; 64 KiB by default. */
  maxLineLength?: number;
  /** How often expired keys are swept, in ms. */
  sweepInterval?: number;
}

/** What one connection needs; the listeners below are module-level functions that take it. */
interface Connection {
  readonly socket: net.Socket;
  readonly parser: RespParser;
  readonly store: Store;
  /**
   * "open" while commands are read and answered; "closing" once the server has sent its last
   * reply (after QUIT or a protocol error) and ended its side: later input is ignored, as Redis
   * ignores what follows QUIT.
   */
  state: "open" | "closing";
  /** Replies made in this turn of the event loop, not yet written. */
  replies: Buffer[];
}

export function createServer(options: ServerOptions = {}): net.Server {
  const store = options.store ?? new Store();
  const server = net.createServer((socket) => {
    const connection: Connection = {
      socket,
      parser: new RespParser({
        mode: "commands",
        maxBulkLength: options.maxBulkLength ?? 16 * 1024 * 1024,
        // The parser's own defaults: 1024 * 1024 words, 64 KiB lines.
        maxArrayLength: options.maxArrayLength,
        maxLineLength: options.maxLineLength,
      }),
      store,
      state: "open",
      replies: [],
    };
    socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
    socket.on("drain", () => socketOnDrain(connection));
    socket.on("error", socketOnError);
  });

  // Expired keys are also removed on read; this sweep frees the ones nobody reads again. One
  // timer for the whole server, unref'd so that it never keeps the process alive.
  let sweeper: NodeJS.Timeout | undefined;
  server.on("listening", () => {
    sweeper = setInterval(() => {
      try {
        store.sweep();
      } catch {
        // A store that cannot sweep fails the same way every time: stop trying. Expired keys
        // are still removed when they are read, and that path reports its errors to clients.
        clearInterval(sweeper);
      }
    }, options.sweepInterval ?? 1000);
    sweeper.unref();
  });
  server.on("close", () => clearInterval(sweeper));
  return server;
}

function socketOnData(connection: Connection, chunk: Buffer): void {
  if (connection.state !== "open") return;
  // Every command in this chunk is answered, in order, and the replies wait on the connection
  // for writeReplies(): a pipelined batch of 1,000 commands costs one write, not 1,000.
  const { replies } = connection;
  try {
    for (const command of connection.parser.feed(chunk)) {
      const args = wordsOf(command);
      if (isQuit(args[0] as Buffer)) {
        // QUIT is about the connection, not the store: reply, then close.
        replies.push(encode(simple("OK")));
        return close(connection, replies);
      }
      replies.push(encode(execute(args, connection.store)));
    }
  } catch (err) {
    // Redis answers a protocol error with `-ERR Protocol error: ...` and closes the connection:
    // after a framing error it cannot know where the next command starts. Anything else thrown
    // is a bug in this server, not bad input: the client gets it as an error too, and only its
    // connection closes, so that the server goes on serving everyone else.
    const message = err instanceof RespError ? err.message : `internal error: ${String(err)}`;
    // Written out rather than encoded: the encoder may be what failed. One line, as RESP needs.
    replies.push(Buffer.from(`-ERR ${message.replace(/[\r\n]+/g, " ")}\r\n`));
    return close(connection, replies);
  }
  if (replies.length === 0) return;
  if (unwritten.size === 0) setImmediate(writeReplies);
  unwritten.add(connection);
}

/**
 * Connections with replies not yet written. They are written once every socket with input in this
 * turn of the event loop has been read (setImmediate runs after the turn's I/O callbacks), as Redis
 * writes in beforeSleep(): a client is woken once for its replies, not while others are still
 * being read.
 */
const unwritten = new Set<Connection>();

function writeReplies(): void {
  for (const connection of unwritten) {
    const replies = Buffer.concat(connection.replies);
    connection.replies = [];
    // A client that reset its connection in the meantime has no one left to read its replies.
    if (connection.socket.destroyed) continue;
    // Backpressure: when the client does not read its replies, stop reading its commands.
    if (!connection.socket.write(replies)) connection.socket.pause();
  }
  unwritten.clear();
}

function socketOnDrain(connection: Connection): void {
  connection.socket.resume();
}

function socketOnError(): void {
  // A reset by the peer is an ordinary end of a connection; the socket closes itself.
}

function close(connection: Connection, replies: Buffer[]): void {
  connection.state = "closing";
  unwritten.delete(connection);
  connection.socket.end(Buffer.concat(replies));
}

/** QUIT, in any case. The length first: almost every command is some other word. */
function isQuit(name: Buffer): boolean {
  return name.length === 4 && name.toString("latin1").toLowerCase() === "quit";
}

/**
 * In "commands" mode the parser yields only non-empty arrays of non-null bulk strings: a command's
 * words. The types cannot say so, hence the casts.
 */
function wordsOf(command: RespValue): Buffer[] {
  return ((command as RespArray).value as BulkString[]).map((word) => word.value as Buffer);
}
