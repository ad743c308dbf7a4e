import { todo } from "#shared/todo.ts";

/**
 * The commands of the line protocol. Every request line gets exactly one reply line; that one rule
 * is what lets a client match replies to requests by order alone (Step 6).
 *
 *   PING          -> PONG
 *   ECHO <text>   -> <text>             (the bytes after "ECHO ", unchanged)
 *   QUIT          -> BYE                (then the server closes the connection)
 *   anything else -> ERR unknown command "<word>"
 *
 * The command word is matched without regard to ASCII case, so `ping` typed into nc works too.
 *
 * Given: Reply, encodeLine() and lineTooLongReply(). You write respond().
 */

/** A reply line, with its LF, and whether the server closes the connection after sending it. */
export interface Reply {
  bytes: Buffer;
  close: boolean;
}

// TODO: Build the replies that never change once, at module level: answering PING then
//       allocates nothing.

/** A text as one line on the wire: its UTF-8 bytes, then LF. */
export function encodeLine(text: string): Buffer {
  return Buffer.from(`${text}\n`, "utf8");
}

/** The error line sent before the server closes a connection whose line is too long (Step 4). */
export function lineTooLongReply(maxLineBytes: number): Buffer {
  return encodeLine(`ERR line too long (max ${maxLineBytes} bytes)`);
}

/** Answers one request line (without its line ending). */
export function respond(line: Buffer): Reply {
  // TODO: The command word is everything before the first space (there may be none), the
  //       argument everything after it.
  // TODO: Commands match in any ASCII case. Decode the word as latin1 (one character per byte,
  //       never fails) before comparing: toUpperCase() is Unicode's, but the only byte it turns
  //       into ASCII is 0xDF ("ß" -> "SS"), and no command has SS in it.
  // TODO: Only the word decides (PING extra -> PONG). PING -> PONG. QUIT -> BYE, and close. ECHO -> its argument's bytes unchanged, then LF:
  //       ECHO never decodes them.
  // TODO: Anything else, an empty line included: ERR unknown command "<word>", the word as a
  //       JSON string of its UTF-8 text, in the case it came in.
  return todo("lesson-01-tcp-sockets", "respond()", "Step 2");
}
