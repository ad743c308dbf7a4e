import { todo } from "#shared/todo.ts";

/**
 * A RESP client. `command()` writes a command and returns a promise of its reply. Commands can be
 * issued without waiting for earlier replies (pipelining): a server answers the commands of one
 * connection in the order it received them, so the first reply to arrive belongs to the oldest
 * command still waiting. A queue of waiting promises is all the matching there is.
 */

/**
 * A reply as JavaScript: simple string -> string, bulk -> Buffer, integer -> bigint, null -> null.
 * An error inside an array is kept as its text, a string; only a top-level error rejects.
 */
export type Reply = string | Buffer | bigint | null | Reply[];

export interface ClientOptions {
  host?: string;
  port?: number;
  /** A Unix socket path instead of host and port. */
  path?: string;
}

export interface RespClient {
  /** Sends one command; resolves with its reply, or rejects with the server's error message. */
  command(...args: (string | Buffer | number)[]): Promise<Reply>;
  /** Closes the connection after the commands already sent have been answered. */
  close(): Promise<void>;
}

export async function createClient(options: ClientOptions = {}): Promise<RespClient> {
  // TODO: Connect (host 127.0.0.1 and port 6379 by default, or a Unix socket `path`) and
  //       resolve once connected.
  // TODO: Pipelining: command() writes at once, whether earlier replies have arrived or not,
  //       and each reply settles the oldest command still waiting: a server answers one
  //       connection's commands in order. Commands issued in the same tick leave in one write.
  // TODO: Replies as JavaScript (see Reply); an error reply rejects with RESP_ERROR_REPLY and
  //       the server's message.
  // TODO: A reply with no command waiting (RESP_UNEXPECTED_REPLY), or bytes the parser refuses,
  //       mean replies can no longer be matched to commands: close, and reject every waiting
  //       and later command with that error.
  // TODO: When the connection closes, every waiting and later command rejects with
  //       RESP_CONNECTION_CLOSED. close() ends the connection after the replies to the commands
  //       already sent, and resolves once it is closed.
  return todo("lesson-02-custom-protocol", "createClient()", "Step 4");
}
