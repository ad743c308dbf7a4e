import { once } from "node:events";
import net from "node:net";
import { LineProtocolError, LineSplitter } from "./lines.ts";

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

interface Waiting {
  resolve(line: string): void;
  reject(error: Error): void;
}

export async function createLineClient(options: {
  host: string;
  port: number;
}): Promise<LineClient> {
  const socket = net.connect(options);
  await once(socket, "connect");
  const lines = new LineSplitter();
  const waiting: Waiting[] = [];

  socket.on("data", (chunk: Buffer) => {
    try {
      for (const line of lines.feed(chunk)) waiting.shift()?.resolve(line);
    } catch {
      // An oversized reply: the stream cannot be trusted any more; "close" fails the rest.
      socket.destroy();
    }
  });
  socket.on("error", () => {
    // Followed by "close", which fails whatever is still waiting.
  });
  socket.on("close", () => {
    for (const w of waiting.splice(0)) {
      w.reject(
        new LineProtocolError("LINE_CONNECTION_CLOSED", "the connection closed before the reply"),
      );
    }
  });

  async function request(...words: string[]): Promise<string> {
    const line = words.join(" ");
    // The protocol's limit, refused here rather than sent and misread as two requests.
    if (/[\r\n]/.test(line)) {
      throw new LineProtocolError(
        "LINE_UNSAFE_ARGUMENT",
        `a line protocol cannot carry CR or LF inside a message: ${JSON.stringify(line)}`,
      );
    }
    const reply = new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
    socket.write(`${line}\n`);
    const text = await reply;
    if (text.startsWith("ERR ")) throw new LineProtocolError("LINE_ERROR_REPLY", text.slice(4));
    return text;
  }

  function checkKey(key: string): void {
    if (key === "" || /[ \r\n]/.test(key)) {
      throw new LineProtocolError(
        "LINE_UNSAFE_ARGUMENT",
        `a key must be one word with no space, CR or LF: ${JSON.stringify(key)}`,
      );
    }
  }

  return {
    async get(key) {
      checkKey(key);
      const reply = await request("GET", key);
      return reply === "NOT_FOUND" ? null : reply.slice("VALUE ".length);
    },
    async set(key, value) {
      checkKey(key);
      await request("SET", key, value);
    },
    async del(key) {
      checkKey(key);
      return (await request("DEL", key)) === "DELETED";
    },
    async close() {
      if (socket.destroyed) return;
      const closed = once(socket, "close");
      socket.end();
      await closed;
    },
  };
}
