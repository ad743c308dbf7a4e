import { once } from "node:events";
import net from "node:net";
import { describe, expect, onTestFinished, test } from "vitest";
import { createClient, type RespClient } from "#lesson/lesson-02-custom-protocol/client.ts";
import type { RespError } from "#lesson/lesson-02-custom-protocol/resp.ts";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf, rejectionOf } from "../../shared/testing/errors.ts";
import { Inbox, listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { describeWithTool } from "../../shared/testing/tools.ts";
import { command, useRedisServer } from "./helpers.ts";

/**
 * A client that is closed when the test ends, whose every wait is bounded: a command with no
 * reply fails with a message naming it, not with vitest's timeout.
 */
async function clientFor(
  address: { host: string; port: number } | { path: string },
): Promise<RespClient> {
  const client = await within(createClient(address), "createClient() to connect");
  onTestFinished(() => within(client.close(), "close() to end the connection and resolve"));
  return {
    command: (...args) =>
      within(client.command(...args), `the reply to ${args.map(String).join(" ")}`),
    close: () => within(client.close(), "close() to end the connection and resolve"),
  };
}

/**
 * A scripted peer, for checking the client: it waits until it has received `expected` bytes,
 * then answers with `reply`, written one byte per write when `byByte` is set.
 */
async function scriptedServer(expected: Buffer, reply: Buffer, options: { byByte?: boolean } = {}) {
  let resolveReceived!: (bytes: Buffer) => void;
  const received = new Promise<Buffer>((resolve) => (resolveReceived = resolve));
  const server = net.createServer(async (socket) => {
    // The client may close first (a failed test): what it sent is what counts.
    socket.on("error", () => {});
    const inbox = new Inbox(socket);
    const bytes = await inbox.until((b) => b.length >= expected.length).catch(() => undefined);
    resolveReceived(bytes ?? inbox.bytes());
    if (bytes === undefined) return;
    if (!options.byByte) return void socket.write(reply);
    for (const byte of reply) {
      if (!socket.writable) return;
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return { address: await listen(server), received };
}

async function rejection(promise: Promise<unknown>): Promise<RespError> {
  return (await within(
    rejectionOf(() => promise),
    "the command to be rejected",
  )) as RespError;
}

describe("Step 4: A RESP client with pipelining", () => {
  test("sends a command and resolves with the reply as JavaScript", async () => {
    const client = await clientFor(await listen(createServer()));
    expect(await client.command("PING")).toBe("PONG");
    expect(await client.command("SET", "k", "v")).toBe("OK");
    expect(await client.command("GET", "k")).toEqual(Buffer.from("v"));
    expect(await client.command("GET", "missing")).toBe(null);
    expect(await client.command("INCR", "n")).toBe(1n);
    expect(await client.command("SET", "five", 5), "a number is sent as its decimal text").toBe(
      "OK",
    );
    expect(await client.command("GET", "five")).toEqual(Buffer.from("5"));
    expect(await client.command("CONFIG", "GET", "save")).toEqual([
      Buffer.from("save"),
      Buffer.from(""),
    ]);
  });

  test("pipelines: commands issued together are all written before any reply, then matched in order", async () => {
    const commands = Buffer.concat([
      command("GET", "a"),
      command("GET", "bé"),
      command("INCR", "c"),
    ]);
    // This peer answers nothing until it has all three commands: a client that waits for each
    // reply before sending the next command never gets one.
    const peer = await scriptedServer(commands, Buffer.from("$1\r\n1\r\n$-1\r\n:3\r\n"));
    const client = await clientFor(peer.address);
    const replies = Promise.all([
      client.command("GET", "a"),
      client.command("GET", "bé"),
      client.command("INCR", "c"),
    ]);
    const received = await within(peer.received, "the three commands to reach the peer");
    expect(show(received), "the three commands, back to back ('bé' is 3 bytes: $3, not $2)").toBe(
      show(commands),
    );
    expect(await within(replies, "the three replies")).toEqual([Buffer.from("1"), null, 3n]);
  });

  test("turns each RESP2 type into JavaScript, nested arrays and nulls included", async () => {
    const reply = "+OK\r\n:-7\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n:1\r\n-ERR inside\r\n*1\r\n$1\r\nx\r\n";
    const commands = Array.from({ length: 6 }, () => command("PING"));
    const peer = await scriptedServer(Buffer.concat(commands), Buffer.from(reply));
    const client = await clientFor(peer.address);
    const replies = await Promise.all(commands.map(() => client.command("PING")));
    expect(replies, `the replies to ${show(reply)}`).toEqual([
      "OK",
      -7n,
      null,
      null,
      [],
      // An error inside an array is a value (a transaction's replies), kept as its text.
      [1n, "ERR inside", [Buffer.from("x")]],
    ]);
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
    expect(bad.status, "NOPE x gets an error reply: its promise rejects").toBe("rejected");
    const err = (bad as PromiseRejectedResult).reason as RespError;
    expect(codeOf(err), "what NOPE x rejected with").toBe("RESP_ERROR_REPLY");
    expect(err.message).toBe("ERR unknown command 'NOPE', with args beginning with: 'x' ");
    expect(good).toEqual({ status: "fulfilled", value: "PONG" });
  });

  test("rejects waiting commands with RESP_CONNECTION_CLOSED when the server closes", async () => {
    const server = net.createServer((socket) => socket.once("data", () => socket.destroy()));
    const client = await clientFor(await listen(server));
    const err = await rejection(client.command("GET", "k"));
    expect(codeOf(err)).toBe("RESP_CONNECTION_CLOSED");
    expect(codeOf(await rejection(client.command("PING"))), "and refuses new commands").toBe(
      "RESP_CONNECTION_CLOSED",
    );
  });

  test('a reset by the server rejects the waiting commands, and does not crash: the socket has an "error" listener', async () => {
    // A reset is an "error" event on the client's socket: without a listener, Node throws it.
    const server = net.createServer((socket) =>
      socket.once("data", () => socket.resetAndDestroy()),
    );
    const client = await clientFor(await listen(server));
    const err = await rejection(client.command("GET", "k"));
    expect(codeOf(err), "what GET k rejected with after a reset").toBe("RESP_CONNECTION_CLOSED");
  });

  test("close() lets replies to commands already sent arrive first", async () => {
    const client = await clientFor(await listen(createServer()));
    // Settled before close() is awaited: a command that rejects meanwhile is a result, not an
    // unhandled rejection.
    const settled = Promise.allSettled([
      client.command("SET", "k", "v"),
      client.command("GET", "k"),
    ]);
    await client.close();
    expect(await settled).toEqual([
      { status: "fulfilled", value: "OK" },
      { status: "fulfilled", value: Buffer.from("v") },
    ]);
  });

  test("a reply with no command waiting means replies can no longer be matched: the client closes (RESP_UNEXPECTED_REPLY)", async () => {
    // This peer answers PING twice. The second reply belongs to no command.
    let closedByClient!: Promise<unknown>;
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      closedByClient = once(socket, "close");
      socket.once("data", () => socket.write("+PONG\r\n+PONG\r\n"));
    });
    const client = await clientFor(await listen(server));
    expect(await within(client.command("PING"), "+PONG for the PING")).toBe("PONG");
    await within(
      closedByClient,
      "the client to close the connection after a reply no command was waiting for (+PONG sent twice for one PING)",
    );
    const err = await within(
      rejectionOf(() => client.command("PING")),
      "a command after the unexpected reply to be refused at once",
    );
    expect(codeOf(err), "the error that made the client close").toBe("RESP_UNEXPECTED_REPLY");
  });

  test("bytes the parser refuses fail the waiting commands with the parser's error, and close", async () => {
    const peer = await scriptedServer(
      Buffer.concat([command("GET", "a"), command("GET", "b")]),
      Buffer.from("$1\r\n1\r\n!oops\r\n"),
    );
    const client = await clientFor(peer.address);
    const [a, b] = await within(
      Promise.allSettled([client.command("GET", "a"), client.command("GET", "b")]),
      "GET a to resolve and GET b to reject after the reply '!oops\\r\\n'",
    );
    expect(a).toEqual({ status: "fulfilled", value: Buffer.from("1") });
    expect(b.status === "rejected" && codeOf(b.reason), "'!' is not a RESP2 type byte").toBe(
      "RESP_UNKNOWN_TYPE",
    );
    const later = await within(
      rejectionOf(() => client.command("PING")),
      "a command after the parse error to be refused at once",
    );
    expect(codeOf(later)).toBe("RESP_UNKNOWN_TYPE");
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
