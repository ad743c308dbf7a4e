import { spawn } from "node:child_process";
import { afterAll, beforeAll } from "vitest";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { RespParser, type ParserOptions } from "#lesson/lesson-02-custom-protocol/parser.ts";
import type { RespError, RespValue } from "#lesson/lesson-02-custom-protocol/resp.ts";

/**
 * The bytes of a command, `*<n>\r\n` then `$<bytes>\r\n<word>\r\n` per word, written out here
 * rather than with the lesson's encoder, so that Step 3 and Step 4 tests do not depend on Step 2.
 */
export function command(...words: (string | Buffer)[]): Buffer {
  const parts = [Buffer.from(`*${words.length}\r\n`)];
  for (const word of words) {
    const bytes = Buffer.from(word);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Feeds the chunks in order to one parser and returns everything it yields. */
export function parseChunks(chunks: (string | Buffer)[], options?: ParserOptions): RespValue[] {
  const parser = new RespParser(options);
  const values: RespValue[] = [];
  for (const chunk of chunks) values.push(...parser.feed(Buffer.from(chunk)));
  return values;
}

/** Feeds the bytes and returns what the parser threw, with whatever it yielded first. */
export function parseFailure(
  chunks: (string | Buffer)[],
  options?: ParserOptions,
): { values: RespValue[]; error: RespError | undefined } {
  const parser = new RespParser(options);
  const values: RespValue[] = [];
  try {
    for (const chunk of chunks)
      for (const value of parser.feed(Buffer.from(chunk))) values.push(value);
  } catch (err) {
    return { values, error: err as RespError };
  }
  return { values, error: undefined };
}

/** Splits `bytes` at the given offsets (any numbers; they are folded into range and sorted). */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

export function byteByByte(bytes: string | Buffer): Buffer[] {
  return [...Buffer.from(bytes)].map((byte) => Buffer.from([byte]));
}

/**
 * A real redis-server on a Unix socket in a fresh temporary folder, with no persistence, for
 * comparing replies. Resolves once it says it is ready; `stop()` ends it and removes the folder.
 */
/**
 * Starts one real redis-server for the tests of the current describe block and stops it after
 * them. Read `.path` inside a test: the Unix socket it listens on.
 */
export function useRedisServer(): { readonly path: string } {
  let redis: { path: string; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get path() {
      if (!redis) throw new Error("redis-server has not started");
      return redis.path;
    },
  };
}

export async function startRedisServer(): Promise<{ path: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lesson-02-redis-"));
  const socketPath = path.join(dir, "redis.sock");
  const child = spawn(
    "redis-server",
    ["--port", "0", "--unixsocket", socketPath, "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (/ready to accept connections/i.test(log)) resolve();
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${log}`)));
  });
  child.stdout.resume();
  return {
    path: socketPath,
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const DONE_COMMAND = "*2\r\n$4\r\nPING\r\n$8\r\n__done__\r\n";
const DONE_REPLY = "$8\r\n__done__\r\n";

/**
 * Sends raw bytes on a new connection, followed by `PING __done__`, and returns every byte that
 * came back before that PING's reply, or before the server closed the connection.
 */
export async function exchange(
  address: { host: string; port: number } | { path: string },
  bytes: string | Buffer,
): Promise<Buffer> {
  const socket = net.connect(address);
  const chunks: Buffer[] = [];
  await once(socket, "connect");
  const received = new Promise<Buffer>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.toString("latin1").endsWith(DONE_REPLY)) {
        resolve(all.subarray(0, all.length - DONE_REPLY.length));
      }
    });
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
  socket.on("error", () => {
    // A reset after a protocol error shows as "close" too.
  });
  socket.write(Buffer.concat([Buffer.from(bytes), Buffer.from(DONE_COMMAND)]));
  const reply = await received;
  socket.destroy();
  return reply;
}
