import { once } from "node:events";
import net from "node:net";
import { encodeCommand } from "./encoder.ts";
import { RespParser } from "./parser.ts";
import { RespError, type RespValue } from "./resp.ts";

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

interface Waiting {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

export async function createClient(options: ClientOptions = {}): Promise<RespClient> {
  const socket =
    options.path === undefined
      ? net.connect({ host: options.host ?? "127.0.0.1", port: options.port ?? 6379 })
      : net.connect({ path: options.path });
  socket.setNoDelay(true);
  await once(socket, "connect");
  return new Client(socket);
}

class Client implements RespClient {
  readonly #socket: net.Socket;
  readonly #parser = new RespParser();
  readonly #waiting: Waiting[] = [];
  #corked = false;
  /** The error that made the client close (a RespError), when it was not the server closing. */
  #failure: Error | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => {
      // A reset by the server: followed by "close", which fails whatever is still waiting.
    });
    socket.on("close", () => this.#onClose());
  }

  command(...args: (string | Buffer | number)[]): Promise<Reply> {
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      return Promise.reject(closedError(this.#failure));
    }
    // Commands issued in the same tick leave in one write: cork now, uncork on the next tick.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    // No wait on `drain` here: the caller awaiting its reply is the backpressure. A caller who
    // fires commands without awaiting any gets them all buffered, as with any Redis client.
    this.#socket.write(
      encodeCommand(args.map((arg) => (typeof arg === "number" ? String(arg) : arg))),
    );
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#socket.destroyed) return;
    const closed = once(this.#socket, "close");
    // Ending our side lets the server finish its replies; it then closes its side.
    this.#socket.end();
    await closed;
  }

  #onData(chunk: Buffer): void {
    try {
      for (const value of this.#parser.feed(chunk)) {
        const waiting = this.#waiting.shift();
        if (waiting === undefined) {
          throw new RespError(
            "RESP_UNEXPECTED_REPLY",
            "A reply came with no command waiting for it",
          );
        }
        if (value.type === "error")
          waiting.reject(new RespError("RESP_ERROR_REPLY", value.message));
        else waiting.resolve(toReply(value));
      }
    } catch (err) {
      // The replies can no longer be matched to commands: fail them all, and close.
      this.#failure = err as Error;
      this.#socket.destroy();
    }
  }

  #onClose(): void {
    for (const waiting of this.#waiting.splice(0)) waiting.reject(closedError(this.#failure));
  }
}

function toReply(value: RespValue): Reply {
  switch (value.type) {
    case "simple":
      return value.value;
    case "error":
      // Only reachable inside an array (a transaction's replies); kept as text there.
      return value.message;
    case "integer":
      return value.value;
    case "bulk":
      // A copy: the parser's bulk values are views of the network chunk, and the caller may keep
      // this one for as long as it likes.
      return value.value === null ? null : Buffer.from(value.value);
    case "array":
      return value.value === null ? null : value.value.map(toReply);
  }
}

function closedError(cause: Error | undefined): Error {
  return (
    cause ?? new RespError("RESP_CONNECTION_CLOSED", "The connection closed before a reply arrived")
  );
}
