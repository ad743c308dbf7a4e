import net from "node:net";
import { LineProtocolError, LineSplitter } from "./lines.ts";

/**
 * Step 1: a key-value server with a protocol of our own. One request per line, one reply per line:
 *
 *   GET key          ->  VALUE <value>  |  NOT_FOUND
 *   SET key <value>  ->  OK                (the value is the rest of the line, spaces and all)
 *   DEL key          ->  DELETED  |  NOT_FOUND
 *   anything else    ->  ERR <why>
 *
 * Simple, and readable in nc. But a value can never contain a newline: the newline *is* the end of
 * the message. Step 2 fixes that by sending lengths instead of looking for delimiters.
 */

interface LineConnection {
  readonly socket: net.Socket;
  readonly lines: LineSplitter;
  readonly store: Map<string, string>;
  closing: boolean;
}

export function createLineServer(store = new Map<string, string>()): net.Server {
  return net.createServer((socket) => {
    const connection: LineConnection = { socket, lines: new LineSplitter(), store, closing: false };
    socket.on("data", (chunk: Buffer) => lineSocketOnData(connection, chunk));
    socket.on("drain", () => socket.resume());
    socket.on("error", () => {
      // A reset by the peer ends the connection; nothing to do.
    });
  });
}

function lineSocketOnData(connection: LineConnection, chunk: Buffer): void {
  if (connection.closing) return;
  let replies = "";
  try {
    for (const line of connection.lines.feed(chunk))
      replies += `${answer(line, connection.store)}\n`;
  } catch (err) {
    if (!(err instanceof LineProtocolError)) throw err;
    // The rest of an oversized line cannot be told apart from the next request: reply and close.
    connection.closing = true;
    connection.socket.end(`${replies}ERR ${err.message}\n`);
    return;
  }
  if (replies !== "" && !connection.socket.write(replies)) connection.socket.pause();
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
