import type net from "node:net";
import type { LineSplitter } from "#reference/lesson-01-tcp-sockets/lines.ts";
import { todo } from "#shared/todo.ts";

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

/**
 * What one connection needs, for module-level listeners that take it; "closing" once the server
 * has refused an oversized line and ended its side.
 */
interface LineConnection {
  readonly socket: net.Socket;
  readonly lines: LineSplitter;
  readonly store: Map<string, string>;
  state: "open" | "closing";
}

export function createLineServer(store = new Map<string, string>()): net.Server {
  // TODO: Cut each connection's bytes into lines with Lesson 01's LineSplitter, capped at
  //       64 KiB, and answer as the table above says (usage errors: `ERR usage: GET key`,
  //       `ERR usage: SET key value`, `ERR usage: DEL key`; an empty line: `ERR empty line`;
  //       otherwise `ERR unknown command '<command>'`). Lines are UTF-8 text.
  // TODO: Answer every line a chunk completes, in order, in one write; when write() returns
  //       false, stop reading until "drain".
  // TODO: A line past the cap (LINE_TOO_LONG): its rest cannot be told apart from the next
  //       request, so send the replies so far and `ERR line longer than 65536 bytes`, and end
  //       the connection.
  // TODO: A reset by the peer ("error") is an ordinary end of a connection.
  return todo("lesson-02-custom-protocol", "createLineServer()", "Step 1");
}
