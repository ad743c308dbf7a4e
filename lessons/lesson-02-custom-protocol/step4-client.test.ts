import net from "node:net";
import { describe, expect, onTestFinished, test } from "vitest";
import { createClient, type RespClient } from "#lesson/lesson-02-custom-protocol/client.ts";
import type { RespError } from "#lesson/lesson-02-custom-protocol/resp.ts";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { Inbox, listen } from "../../shared/testing/net.ts";
import { describeWithTool } from "../../shared/testing/tools.ts";
import { command, useRedisServer } from "./helpers.ts";

/** A client that is closed when the test ends. */
async function clientFor(address: { host: string; port: number } | { path: string }) {
  const client = await createClient(address);
  onTestFinished(() => client.close());
  return client;
}

/**
 * A scripted peer, for checking the client: it waits until it has received `expected` bytes,
 * then answers with `reply`, written one byte per write when `byByte` is set.
 */
async function scriptedServer(expected: Buffer, reply: Buffer, options: { byByte?: boolean } = {}) {
  let resolveReceived!: (bytes: Buffer) => void;
  const received = new Promise<Buffer>((resolve) => (resolveReceived = resolve));
  const server = net.createServer(async (socket) => {
    const inbox = new Inbox(socket);
    const bytes = await inbox.until((b) => b.length >= expected.length).catch(() => inbox.bytes());
    resolveReceived(bytes);
    if (!options.byByte) return void socket.write(reply);
    for (const byte of reply) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return { address: await listen(server), received };
}

async function rejection(promise: Promise<unknown>): Promise<RespError> {
  return promise.then(
    () => {
      throw new Error("expected the promise to reject");
    },
    (err: RespError) => err,
  );
}

describe("Step 4: A RESP client with pipelining", () => {
  test("sends a command and resolves with the reply as JavaScript", async () => {
    const client = await clientFor(await listen(createServer()));
    expect(await client.command("PING")).toBe("PONG");
    expect(await client.command("SET", "k", "v")).toBe("OK");
    expect(await client.command("GET", "k")).toEqual(Buffer.from("v"));
    expect(await client.command("GET", "missing")).toBe(null);
    expect(await client.command("INCR", "n")).toBe(1n);
    expect(await client.command("CONFIG", "GET", "save")).toEqual([
      Buffer.from("save"),
      Buffer.from(""),
    ]);
  });

  test("pipelines: commands issued together are all written before any reply, then matched in order", async () => {
    const commands = Buffer.concat([
      command("GET", "a"),
      command("GET", "b"),
      command("INCR", "c"),
    ]);
    // This peer answers nothing until it has all three commands: a client that waits for each
    // reply before sending the next command never gets one.
    const peer = await scriptedServer(commands, Buffer.from("$1\r\n1\r\n$-1\r\n:3\r\n"));
    const client = await clientFor(peer.address);
    const replies = Promise.all([
      client.command("GET", "a"),
      client.command("GET", "b"),
      client.command("INCR", "c"),
    ]);
    expect(show(await peer.received), "the three commands, back to back").toBe(show(commands));
    expect(await replies).toEqual([Buffer.from("1"), null, 3n]);
  });

  test("matches replies that arrive one byte at a time", async () => {
    const commands = Buffer.concat([command("ECHO", "a\r\nb"), command("PING")]);
    const peer = await scriptedServer(commands, Buffer.from("$4\r\na\r\nb\r\n+PONG\r\n"), {
      byByte: true,
    });
    const client = await clientFor(peer.address);
    expect(await Promise.all([client.command("ECHO", "a\r\nb"), client.command("PING")])).toEqual([
      Buffer.from("a\r\nb"),
      "PONG",
    ]);
  });

  test("rejects with the server's message on an error reply, and carries on", async () => {
    const client = await clientFor(await listen(createServer()));
    const [bad, good] = await Promise.allSettled([
      client.command("NOPE", "x"),
      client.command("PING"),
    ]);
    expect(bad.status).toBe("rejected");
    const err = (bad as PromiseRejectedResult).reason as RespError;
    expect(err.code).toBe("RESP_ERROR_REPLY");
    expect(err.message).toBe("ERR unknown command 'NOPE', with args beginning with: 'x' ");
    expect(good).toEqual({ status: "fulfilled", value: "PONG" });
  });

  test("rejects waiting commands with RESP_CONNECTION_CLOSED when the server closes", async () => {
    const server = net.createServer((socket) => socket.once("data", () => socket.destroy()));
    const client = await clientFor(await listen(server));
    const err = await rejection(client.command("GET", "k"));
    expect(err.code).toBe("RESP_CONNECTION_CLOSED");
    expect((await rejection(client.command("PING"))).code, "and refuses new commands").toBe(
      "RESP_CONNECTION_CLOSED",
    );
  });

  test("close() lets replies to commands already sent arrive first", async () => {
    const client: RespClient = await createClient(await listen(createServer()));
    const pending = [client.command("SET", "k", "v"), client.command("GET", "k")];
    await client.close();
    expect(await Promise.all(pending)).toEqual(["OK", Buffer.from("v")]);
  });

  test("sends and receives binary values unchanged", async () => {
    const client = await clientFor(await listen(createServer()));
    const value = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0xc3]);
    await client.command("SET", Buffer.from([0xfe]), value);
    expect(await client.command("GET", Buffer.from([0xfe]))).toEqual(value);
  });

  describeWithTool("redis-server", "install redis-server")("against a real redis-server", () => {
    const redis = useRedisServer();

    test("works against redis-server too: replies, pipelining and errors", async () => {
      const client = await clientFor({ path: redis.path });
      const replies = await Promise.all([
        client.command("SET", "client:k", "héllo"),
        client.command("GET", "client:k"),
        client.command("DEL", "client:k"),
        client.command("GET", "client:k"),
      ]);
      expect(replies).toEqual(["OK", Buffer.from("héllo"), 1n, null]);
      const err = await rejection(client.command("GET"));
      expect(err.message).toBe("ERR wrong number of arguments for 'get' command");
      expect(await client.command("PING")).toBe("PONG");
    });
  });
});
