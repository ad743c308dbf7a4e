import { once } from "node:events";
import net from "node:net";
import { LineSplitter } from "#reference/lesson-01-tcp-sockets/lines.ts";

/**
 * Step 1's client. Replies come back in the order requests were sent, so each reply settles the
 * oldest request still waiting.
 */

export interface LineClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  /** True if the key existed. */
  del(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export type LineClientErrorCode =
  /** The client was asked to send a key or value the line protocol cannot carry. */
  | "LINE_UNSAFE_ARGUMENT"
  /** The connection closed with requests still waiting for replies. */
  | "LINE_CONNECTION_CLOSED"
  /** The server replied `ERR ...`. */
  | "LINE_ERROR_REPLY";

export class LineClientError extends Error {
  readonly code: LineClientErrorCode;

  constructor(code: LineClientErrorCode, message: string) {
    super(message);
    this.name = "LineClientError";
    this.code = code;
  }
}

export async function createLineClient(options: {
  host: string;
  port: number;
}): Promise<LineClient> {
  const socket = net.connect(options);
  await once(socket, "connect");
  return new Client(socket);
}

interface Waiting {
  resolve(line: string): void;
  reject(error: Error): void;
}

/** The longest reply line: `VALUE ` and a value as long as the server accepts in a request. */
const MAX_REPLY_BYTES = 64 * 1024 + "VALUE ".length;

class Client implements LineClient {
  readonly #socket: net.Socket;
  readonly #lines = new LineSplitter({ maxLineBytes: MAX_REPLY_BYTES });
  readonly #waiting: Waiting[] = [];

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => {
      // Followed by "close", which fails whatever is still waiting.
    });
    socket.on("close", () => this.#onClose());
  }

  async get(key: string): Promise<string | null> {
    const reply = await this.#request("GET", oneWord(key));
    return reply === "NOT_FOUND" ? null : reply.slice("VALUE ".length);
  }

  async set(key: string, value: string): Promise<void> {
    await this.#request("SET", oneWord(key), value);
  }

  async del(key: string): Promise<boolean> {
    return (await this.#request("DEL", oneWord(key))) === "DELETED";
  }

  async close(): Promise<void> {
    if (this.#socket.destroyed) return;
    const closed = once(this.#socket, "close");
    this.#socket.end();
    await closed;
  }

  async #request(...words: string[]): Promise<string> {
    const line = words.join(" ");
    // The protocol's limit, refused here rather than sent and misread as two requests.
    if (/[\r\n]/.test(line)) {
      throw new LineClientError(
        "LINE_UNSAFE_ARGUMENT",
        `a line protocol cannot carry CR or LF inside a message: ${JSON.stringify(line)}`,
      );
    }
    if (this.#socket.destroyed || this.#socket.writableEnded) throw closedError();
    const reply = new Promise<string>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#socket.write(`${line}\n`);
    const text = await reply;
    if (text.startsWith("ERR ")) throw new LineClientError("LINE_ERROR_REPLY", text.slice(4));
    return text;
  }

  #onData(chunk: Buffer): void {
    try {
      for (const line of this.#lines.feed(chunk)) this.#waiting.shift()?.resolve(line.toString());
    } catch {
      // An oversized reply: the stream cannot be trusted any more; "close" fails the rest.
      this.#socket.destroy();
    }
  }

  #onClose(): void {
    for (const waiting of this.#waiting.splice(0)) waiting.reject(closedError());
  }
}

/** A key is one word: the server splits a request on spaces. */
function oneWord(key: string): string {
  if (key === "" || /[ \r\n]/.test(key)) {
    throw new LineClientError(
      "LINE_UNSAFE_ARGUMENT",
      `a key must be one word with no space, CR or LF: ${JSON.stringify(key)}`,
    );
  }
  return key;
}

function closedError(): LineClientError {
  return new LineClientError("LINE_CONNECTION_CLOSED", "the connection closed before the reply");
}
