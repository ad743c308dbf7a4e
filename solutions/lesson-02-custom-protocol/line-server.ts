import net from "node:net";
import { LineProtocolError } from "#reference/lesson-01-tcp-sockets/errors.ts";
import { LineSplitter } from "#reference/lesson-01-tcp-sockets/lines.ts";

/**
 * Step 1: a key-value server with a protocol of our own. One request per line, one reply per line:
 *
 *   GET key          ->  VALUE <value>  |  NOT_FOUND
 *   SET key <value>  ->  OK                (the value is the rest of the line, spaces and all)
 *   DEL key          ->  DELETED  |  NOT_FOUND
 *   anything else    ->  ERR <why>
 *
 * Lines are cut by Lesson 01's LineSplitter. Simple, and readable in a raw client. But a value can never contain a newline: the newline *is* the end of
 * the message. Step 2 fixes that by sending lengths instead of looking for delimiters.
 */

/** The longest line accepted, in bytes, not counting its line ending. */
const MAX_LINE_BYTES = 64 * 1024;

/** What one connection needs; the listeners below are module-level functions that take it. */
interface LineConnection {
  readonly socket: net.Socket;
  readonly lines: LineSplitter;
  readonly store: Map<string, string>;
  /** "closing" once the server has refused an oversized line and ended its side. */
  state: "open" | "closing";
}

export function createLineServer(store = new Map<string, string>()): net.Server {
  return net.createServer((socket) => {
    const connection: LineConnection = {
      socket,
      lines: new LineSplitter({ maxLineBytes: MAX_LINE_BYTES }),
      store,
      state: "open",
    };
    socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
    socket.on("drain", () => socketOnDrain(connection));
    socket.on("error", socketOnError);
  });
}

function socketOnData(connection: LineConnection, chunk: Buffer): void {
  if (connection.state !== "open") return;
  let replies = "";
  try {
    for (const line of connection.lines.feed(chunk)) {
      // Decoded only now that the line is whole: a UTF-8 character may be split across chunks.
      replies += `${answer(line.toString("utf8"), connection.store)}\n`;
    }
  } catch (err) {
    if (!(err instanceof LineProtocolError) || err.code !== "LINE_TOO_LONG") throw err;
    // The rest of an oversized line cannot be told apart from the next request: reply and close.
    connection.state = "closing";
    connection.socket.end(`${replies}ERR line longer than ${MAX_LINE_BYTES} bytes\n`);
    return;
  }
  if (replies !== "" && !connection.socket.write(replies)) connection.socket.pause();
}

function socketOnDrain(connection: LineConnection): void {
  connection.socket.resume();
}

function socketOnError(): void {
  // A reset by the peer ends the connection; the socket closes itself.
}

function answer(line: string, store: Map<string, string>): string {
  const [command = "", key = "", ...rest] = line.split(" ");
  // Everything after "SET key " is the value, so values may hold spaces.
  const value = line.slice(command.length + key.length + 2);
  switch (command.toUpperCase()) {
    case "GET":
      if (key === "" || rest.length > 0) return "ERR usage: GET key";
      return store.has(key) ? `VALUE ${store.get(key)}` : "NOT_FOUND";
    case "SET":
      if (key === "" || rest.length === 0) return "ERR usage: SET key value";
      store.set(key, value);
      return "OK";
    case "DEL":
      if (key === "" || rest.length > 0) return "ERR usage: DEL key";
      return store.delete(key) ? "DELETED" : "NOT_FOUND";
    case "":
      return "ERR empty line";
    default:
      return `ERR unknown command '${command}'`;
  }
}
