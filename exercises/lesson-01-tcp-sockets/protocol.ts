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

// TODO: const SPACE = 0x20;
// TODO: Canned replies are built once; answering PING allocates nothing:
//       const PONG: Reply = { bytes: Buffer.from("PONG\n"), close: false }, and BYE likewise.

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
  // TODO: Split "ECHO hello world" at the first space (line.indexOf(SPACE)): the command word,
  //       then its argument bytes. There may be no space at all.
  // TODO: Compare the word in upper case, decoded as latin1: it maps each byte to one character and
  //       never fails. toUpperCase() is Unicode's, not ASCII's, but the only byte it turns into
  //       ASCII is 0xDF ("ß" -> "SS"), and no command has SS in it: a stray non-ASCII byte cannot
  //       make a word match.
  // TODO: PING -> PONG. QUIT -> BYE.
  // TODO: ECHO: bytes in, the same bytes out, then LF. ECHO never decodes its argument.
  // TODO: Anything else: encodeLine(`ERR unknown command ${JSON.stringify(word as UTF-8)}`).
  return todo("lesson-01-tcp-sockets", "respond()", "Step 2");
}
