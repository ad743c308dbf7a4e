import type net from "node:net";
import { todo } from "#shared/todo.ts";

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

export function createLineServer(store = new Map<string, string>()): net.Server {
  // TODO: Create a net.Server. For each connection keep { socket, lines: new LineSplitter(),
  //       store, closing }, and listen to "data" (a named function), "drain" (resume) and
  //       "error" (a reset by the peer ends the connection; nothing to do).
  // TODO: On data: answer every line the splitter yields, and send the replies in one write;
  //       pause the socket when write() returns false.
  // TODO: On LINE_TOO_LONG: the rest of an oversized line cannot be told apart from the next
  //       request, so send the replies so far plus `ERR <message>` and end the connection.
  // TODO: answer(line, store): split on " "; everything after "SET key " is the value, so
  //       values may hold spaces. Usage errors: `ERR usage: GET key`, `ERR usage: SET key value`,
  //       `ERR usage: DEL key`; an empty line: `ERR empty line`; otherwise
  //       `ERR unknown command '<command>'`.
  return todo("lesson-02-custom-protocol", "createLineServer()", "Step 1");
}
