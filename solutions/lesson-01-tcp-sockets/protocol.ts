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
 */

/** A reply line, with its LF, and whether the server closes the connection after sending it. */
export interface Reply {
  bytes: Buffer;
  close: boolean;
}

const SPACE = 0x20;

// Canned replies are built once; answering PING allocates nothing.
const PONG: Reply = { bytes: Buffer.from("PONG\n"), close: false };
const BYE: Reply = { bytes: Buffer.from("BYE\n"), close: true };

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
  // Split "ECHO hello world" at the first space: the command word, then its argument bytes.
  const space = line.indexOf(SPACE);
  const word = space === -1 ? line : line.subarray(0, space);
  const argument = space === -1 ? Buffer.alloc(0) : line.subarray(space + 1);

  // latin1 maps each byte to one character and never fails. toUpperCase() is Unicode's, not
  // ASCII's, but the only byte it turns into ASCII is 0xDF ("ß" -> "SS"), and no command has SS in
  // it: a stray non-ASCII byte cannot make a word match.
  switch (word.toString("latin1").toUpperCase()) {
    case "PING":
      return PONG;
    case "ECHO":
      // Bytes in, the same bytes out: ECHO never decodes its argument.
      return { bytes: Buffer.concat([argument, Buffer.from("\n")]), close: false };
    case "QUIT":
      return BYE;
    default:
      return {
        bytes: encodeLine(`ERR unknown command ${JSON.stringify(word.toString("utf8"))}`),
        close: false,
      };
  }
}
