import { todo } from "#shared/todo.ts";

/**
 * A RESP client. `command()` writes a command and returns a promise of its reply. Commands can be
 * issued without waiting for earlier replies (pipelining): a server answers the commands of one
 * connection in the order it received them, so the first reply to arrive belongs to the oldest
 * command still waiting. A queue of waiting promises is all the matching there is.
 */

/** A reply as JavaScript: simple string -> string, bulk -> Buffer, integer -> bigint, null -> null. */
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
  // TODO: Connect (host defaults to 127.0.0.1, port to 6379, or a Unix socket `path`), turn
  //       off Nagle's delay, and wait for "connect".
  // TODO: Keep a RespParser ("replies" mode) and a queue of waiting { resolve, reject }.
  // TODO: command(): refuse at once (RESP_CONNECTION_CLOSED) once the connection is over.
  //       Commands issued in the same tick leave in one write: cork the socket on the first
  //       and uncork on the next tick (process.nextTick). Write encodeCommand(args), numbers as
  //       text, and return a promise queued for the reply.
  // TODO: On data: each value settles the oldest waiting command: an error reply rejects with
  //       RespError("RESP_ERROR_REPLY", <the server's message>); anything else resolves with
  //       it as JavaScript (see Reply). A reply with nothing waiting, or a parse error: the
  //       replies can no longer be matched, so destroy the socket.
  // TODO: On close: reject everything still waiting with RESP_CONNECTION_CLOSED (or with the
  //       RespError that made the client close).
  // TODO: close(): end the socket, which lets the server finish its replies, and wait for
  //       "close".
  return todo("lesson-02-custom-protocol", "createClient()", "Step 4");
}
