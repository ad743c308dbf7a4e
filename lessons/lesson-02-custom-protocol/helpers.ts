import { spawn } from "node:child_process";
import { afterAll, beforeAll, onTestFinished } from "vitest";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { RespParser, type ParserOptions } from "#lesson/lesson-02-custom-protocol/parser.ts";
import type { RespError, RespValue } from "#lesson/lesson-02-custom-protocol/resp.ts";
import { show } from "../../shared/testing/bytes.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";

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
    // A stub's own error is no answer to "which code?": let it fail the test with its message.
    if ((err as { code?: unknown }).code === "COURSE_NOT_IMPLEMENTED") throw err;
    return { values, error: err as RespError };
  }
  return { values, error: undefined };
}

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

/**
 * A real redis-server on a Unix socket in a fresh temporary folder, with no persistence, for
 * comparing replies. Resolves once it says it is ready; `stop()` ends it and removes the folder.
 */
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
 * The replies to `bytes`, for comparing a server with redis-server: sends `bytes` on a new
 * connection, then `PING __done__`, and returns every byte that came back before that PING's
 * reply, or before the server closed the connection (after a protocol error or QUIT).
 */
export async function repliesTo(
  address: { host: string; port: number } | { path: string },
  bytes: string | Buffer,
): Promise<Buffer> {
  const socket = net.connect(address);
  onTestFinished(() => {
    socket.destroy();
  });
  socket.on("error", () => {
    // A reset after a protocol error shows as "close" too.
  });
  await once(socket, "connect");
  const chunks: Buffer[] = [];
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
  socket.write(Buffer.concat([Buffer.from(bytes), Buffer.from(DONE_COMMAND)]));
  const reply = await within(
    received,
    () =>
      `Nothing after ${PATIENCE_MS} ms. Expected replies to ${show(bytes)}, then ${show(DONE_REPLY)} ` +
      `(the reply to the PING sent after them) or the end of the connection.\n  received: ${show(Buffer.concat(chunks))}`,
  );
  socket.destroy();
  return reply;
}
