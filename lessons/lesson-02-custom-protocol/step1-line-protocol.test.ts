import net from "node:net";
import { describe, expect, test } from "vitest";
import { createLineClient } from "#lesson/lesson-02-custom-protocol/line-client.ts";
import { createLineServer } from "#lesson/lesson-02-custom-protocol/line-server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { codeOf, rejectionOf } from "../../shared/testing/errors.ts";
import { connect, Inbox, listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deliver, nextConnection, openPair } from "../../shared/testing/raw.ts";

/**
 * Writes each chunk on a new connection, each arriving on its own (the server has read one before
 * the next is sent), and waits for `expected`.
 */
async function expectReplies(
  server: net.Server,
  chunks: string[],
  expected: string,
  listening?: Address,
) {
  const address = listening ?? (await listen(server));
  const pair = await openPair(server, address);
  for (const chunk of chunks) await deliver(pair, Buffer.from(chunk));
  const { inbox } = pair.client;
  const got = await within(
    inbox.until((b) => b.length >= Buffer.byteLength(expected)),
    `${show(expected)} in reply to ${show(chunks.join(""), 200)}`,
  ).catch(() => inbox.bytes());
  expect(
    show(got),
    explain("The line server's replies", chunks.join(""), show(expected), got),
  ).toBe(show(expected));
}

describe("Step 1: A line protocol of your own", () => {
  test("SET stores a value, spaces and all, that GET returns", async () => {
    await expectReplies(
      createLineServer(),
      ["SET greeting hello world\nGET greeting\n"],
      "OK\nVALUE hello world\n",
    );
  });

  test("GET and DEL of a missing key answer NOT_FOUND; DEL of a key answers DELETED", async () => {
    await expectReplies(
      createLineServer(),
      ["GET k\nSET k v\nDEL k\nDEL k\n"],
      "NOT_FOUND\nOK\nDELETED\nNOT_FOUND\n",
    );
  });

  test("a request split across two writes is still one request", async () => {
    await expectReplies(
      createLineServer(),
      ["SET k hel", "lo\r", "\nGET k\r\n"],
      "OK\nVALUE hello\n",
    );
  });

  test("an unknown command or a missing argument gets an ERR line", async () => {
    await expectReplies(
      createLineServer(),
      ["FLY away\nGET\n"],
      "ERR unknown command 'FLY'\nERR usage: GET key\n",
    );
  });

  test("a request with the wrong number of words, or an empty line, gets its usage line", async () => {
    await expectReplies(
      createLineServer(),
      ["GET a b\nGET  a\nSET k\nSET\nSET  v\nDEL\nDEL a b\nDEL  a\n\nGET k\n"],
      [
        "ERR usage: GET key",
        "ERR usage: GET key",
        "ERR usage: SET key value",
        "ERR usage: SET key value",
        "ERR usage: SET key value",
        "ERR usage: DEL key",
        "ERR usage: DEL key",
        "ERR usage: DEL key",
        "ERR empty line",
        "NOT_FOUND",
        "",
      ].join("\n"),
    );
  });

  test("accepts a line of exactly 65536 bytes, not counting its line ending", async () => {
    const value = "x".repeat(65536 - "SET k ".length);
    await expectReplies(createLineServer(), [`SET k ${value}\r\nGET k\n`], `OK\nVALUE ${value}\n`);
  });

  test("after refusing a line, the server ignores what the client sends next", async () => {
    const server = createLineServer();
    const address = await listen(server);
    // allowHalfOpen: this client keeps writing after the server's FIN, as a careless one would.
    const pair = await openPair(server, address, { allowHalfOpen: true });
    await deliver(pair, Buffer.from(`SET k ${"x".repeat(70 * 1024)}`));
    await within(pair.client.closed(), "the server to close the connection after ERR");
    await deliver(pair, Buffer.from("\nSET k after\n"));
    await expectReplies(server, ["GET k\n"], "NOT_FOUND\n", address);
  });

  test("a line longer than the cap gets ERR and the connection closes", async () => {
    const address = await listen(createLineServer());
    const inbox = new Inbox(await connect(address));
    inbox.socket.write(`GET k\nSET k ${"x".repeat(70 * 1024)}`);
    const expected = "NOT_FOUND\nERR line longer than 65536 bytes\n";
    const got = await within(inbox.untilEnd(), () =>
      explain(
        "A line past the cap: the server should reply, then close the connection",
        "GET k\nSET k xxx... (70 KiB, no LF)",
        `${show(expected)}, then the end of the connection`,
        inbox.bytes(),
      ),
    );
    expect(show(got)).toBe(show(expected));
  });

  test("a value containing a newline arrives as two requests: the line protocol cannot carry it", async () => {
    // The sender meant one value, "two\nlines". The server sees the end of a message at the \n.
    await expectReplies(
      createLineServer(),
      ["SET k two\nlines\nGET k\n"],
      "OK\nERR unknown command 'lines'\nVALUE two\n",
    );
  });

  test("stops reading a client's requests while that client does not read its replies", async () => {
    const server = createLineServer(new Map([["big", "a".repeat(60 * 1024)]]));
    const paused = new Promise<void>((resolve) => {
      server.on("connection", (socket: net.Socket) => {
        const pause = socket.pause.bind(socket);
        socket.pause = () => {
          resolve();
          return pause();
        };
      });
    });
    const client = await connect(await listen(server));
    // Counted here rather than with an Inbox: 24 MiB is too much to keep re-joining.
    let received = 0;
    let last: Buffer = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      received += chunk.length;
      last = chunk;
    });
    client.pause();
    // 400 GETs in one write: about 24 MiB of replies, more than any socket buffer holds.
    client.write("GET big\n".repeat(400));
    await within(
      paused,
      "the server to pause the socket once write() returns false (24 MiB of replies unread)",
    );
    client.resume();
    // Reading resumes on "drain": a request sent now is answered after the backlog.
    client.write("GET nope\n");
    const all = 400 * (60 * 1024 + 7) + "NOT_FOUND\n".length;
    await within(
      new Promise<void>((resolve) => {
        const check = () => received >= all && resolve();
        client.on("data", check);
        check();
      }),
      () =>
        `all 400 replies, then NOT_FOUND; ${received} of ${all} bytes arrived. Does the server resume() reading on "drain"?`,
    );
    expect(show(last.subarray(-10)), "GET nope, after the backlog drained").toBe(
      show("NOT_FOUND\n"),
    );
  });

  test("a client that resets its connection leaves the server serving the others", async () => {
    const server = createLineServer();
    const address = await listen(server);
    const accepted = nextConnection(server);
    const rude = new Inbox(await connect(address));
    rude.socket.on("error", () => {});
    const serverSide = await within(accepted, "the server to accept the connection");
    expect(
      serverSide.listenerCount("error"),
      "an 'error' listener on each connection: without one, a reset by one client crashes the server",
    ).toBeGreaterThan(0);
    rude.socket.resetAndDestroy();
    const other = new Inbox(await connect(address));
    other.socket.write("GET k\n");
    const got = await within(
      other.until((b) => b.includes("\n")),
      "NOT_FOUND for another client, after one client reset its connection",
    );
    expect(show(got)).toBe(show("NOT_FOUND\n"));
  });

  test("the client sets, gets and deletes", async () => {
    const client = await createLineClient(await listen(createLineServer()));
    await client.set("city", "São Paulo");
    expect(await client.get("city")).toBe("São Paulo");
    expect(await client.del("city")).toBe(true);
    expect(await client.get("city")).toBe(null);
    await client.close();
  });

  test("the client refuses a value with a newline rather than send two requests", async () => {
    const client = await createLineClient(await listen(createLineServer()));
    const err = await rejectionOf(() => client.set("k", "two\nlines"));
    expect(codeOf(err), "set('k', 'two\\nlines')").toBe("LINE_UNSAFE_ARGUMENT");
    expect(await client.get("k"), "nothing was stored").toBe(null);
    await client.close();
  });

  test("the client refuses a key that is not one word: the server would read a different request", async () => {
    const client = await createLineClient(await listen(createLineServer()));
    // Sent as is, `SET a b c` would store "b c" under the key "a".
    for (const [what, call] of [
      ["set('a b', 'c')", () => client.set("a b", "c")],
      ["get('a b')", () => client.get("a b")],
      ["del('a b')", () => client.del("a b")],
      ["get('')", () => client.get("")],
      ["get('a\\r\\nb')", () => client.get("a\r\nb")],
    ] as const) {
      expect(codeOf(await rejectionOf(call)), `${what}: a key must be one word`).toBe(
        "LINE_UNSAFE_ARGUMENT",
      );
    }
    expect(await client.get("a"), "set('a b', 'c') sent nothing: 'a' is still unset").toBe(null);
    await client.close();
  });

  test("the client reads a reply as long as a 64 KiB value", async () => {
    const value = "x".repeat(64 * 1024);
    const client = await createLineClient(await listen(createLineServer(new Map([["k", value]]))));
    const got = await within(client.get("k"), "the reply to GET k: VALUE and 64 KiB");
    expect(got?.length, "the value's length").toBe(value.length);
    await client.close();
  });

  test("close() ends the connection; a request after it is refused", async () => {
    const server = createLineServer();
    const address = await listen(server);
    const accepted = nextConnection(server);
    const client = await createLineClient(address);
    const serverSide = await within(accepted, "the server to accept the connection");
    const ended = new Promise((resolve) => serverSide.once("end", resolve));
    await within(client.close(), "close() to resolve once the connection is closed");
    await within(ended, "the server to see the client's FIN after close()");
    const err = await within(
      rejectionOf(() => client.get("k")),
      "get() after close() to reject",
    );
    expect(codeOf(err)).toBe("LINE_CONNECTION_CLOSED");
  });

  test("the client closes on a reply line longer than any reply can be", async () => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("x".repeat(100 * 1024)));
    });
    const client = await createLineClient(await listen(server));
    const err = await within(
      rejectionOf(() => client.get("k")),
      "get() to reject once the reply passed the line cap (100 KiB without LF)",
    );
    expect(codeOf(err)).toBe("LINE_CONNECTION_CLOSED");
  });

  test("the client rejects a request waiting for its reply when the connection closes", async () => {
    const server = net.createServer((socket) => socket.once("data", () => socket.destroy()));
    const client = await createLineClient(await listen(server));
    const err = await within(
      rejectionOf(() => client.get("k")),
      "get() to reject once the server closed the connection",
    );
    expect(codeOf(err)).toBe("LINE_CONNECTION_CLOSED");
    await client.close();
  });

  test("the client reads a reply that arrives in pieces, even inside a character", async () => {
    // "VALUE São\n" written a byte at a time: 'ã' is two bytes, and a reply is a line, not a chunk.
    const reply = Buffer.from("VALUE São\n");
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", async () => {
        for (const byte of reply) {
          if (!socket.writable) return;
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
    const client = await createLineClient(await listen(server));
    const got = await within(
      client.get("city"),
      `the reply ${show(reply)}, sent one byte per write`,
    );
    expect(got, "a reply ends at its LF, whatever the chunks; bytes become text once whole").toBe(
      "São",
    );
    await client.close();
  });

  test('the client rejects a waiting request when the server resets the connection, and does not crash: its socket has an "error" listener', async () => {
    // A reset is an "error" event on the client's socket: without a listener, Node throws it.
    const server = net.createServer((socket) =>
      socket.once("data", () => socket.resetAndDestroy()),
    );
    const client = await createLineClient(await listen(server));
    const err = await within(
      rejectionOf(() => client.get("k")),
      "get() to reject once the server reset the connection",
    );
    expect(codeOf(err), "what get() rejected with after a reset").toBe("LINE_CONNECTION_CLOSED");
    await client.close();
  });

  test("the client rejects with the server's ERR reply", async () => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("ERR nope\n"));
    });
    const client = await createLineClient(await listen(server));
    const err = await within(
      rejectionOf(() => client.get("k")),
      "get() to reject with the ERR reply",
    );
    expect(codeOf(err)).toBe("LINE_ERROR_REPLY");
    expect((err as Error).message).toBe("nope");
    await client.close();
  });
});
