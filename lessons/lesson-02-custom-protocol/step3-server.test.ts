import type net from "node:net";
import { Redis } from "ioredis";
import { describe, expect, onTestFinished, test, vi } from "vitest";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { Store } from "#lesson/lesson-02-custom-protocol/store.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { connect, Inbox, listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deliver, openPair } from "../../shared/testing/raw.ts";
import { describeWithTool, run, testWithTool } from "../../shared/testing/tools.ts";
import { command, repliesTo, useRedisServer } from "./helpers.ts";

/** Sends `bytes` on a fresh connection and waits for exactly `expected` back. */
async function expectReply(address: Address, bytes: string | Buffer, expected: string | Buffer) {
  const inbox = new Inbox(await connect(address));
  inbox.socket.write(bytes);
  const want = Buffer.from(expected);
  // If the server closes early, or says nothing more, what did arrive is shown against what was
  // expected.
  const got = await within(
    inbox.until((b) => b.length >= want.length),
    `${show(want)} in reply to ${show(bytes, 200)}`,
  ).catch(() => inbox.bytes());
  expect(show(got), explain("The server's reply", bytes, show(want), got)).toBe(show(want));
  return inbox;
}

/** Sends `bytes` on a fresh connection; checks the bytes received before the server closes. */
async function expectReplyThenClose(address: Address, bytes: string, expected: string) {
  const inbox = new Inbox(await connect(address));
  inbox.socket.write(bytes);
  const got = await within(inbox.untilEnd(), () =>
    explain(
      "The server should reply, then close the connection; it has not closed it",
      bytes,
      `${show(expected)}, then the end of the connection`,
      inbox.bytes(),
    ),
  );
  expect(show(got), explain("Reply, then close", bytes, show(expected), got)).toBe(show(expected));
}

/** Waits on an Inbox for `expected` bytes in all, bounded. */
function untilAll(inbox: Inbox, expected: string): Promise<Buffer> {
  return within(
    inbox.until((b) => b.length >= Buffer.byteLength(expected), show(expected)),
    () => explain("Waiting for the server's replies", "", show(expected), inbox.bytes()),
  );
}

const cmd = command;

/**
 * Resolves with the server side of the first connection the server pauses; rejects if that
 * connection closes first.
 */
function pausedSocket(server: net.Server): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    server.once("connection", (socket: net.Socket) => {
      const pause = socket.pause.bind(socket);
      socket.pause = () => {
        resolve(socket);
        return pause();
      };
      socket.once("close", () =>
        reject(new Error("The connection closed before the server paused it (backpressure).")),
      );
    });
  });
}

describe("Step 3: A key-value server that Redis clients can use", () => {
  describe("commands", () => {
    test("answers PING with +PONG, and PING with a message with that message", async () => {
      const address = await listen(createServer());
      await expectReply(address, cmd("PING"), "+PONG\r\n");
      await expectReply(address, cmd("PING", "hi"), "$2\r\nhi\r\n");
      await expectReply(address, cmd("ECHO", "hé"), "$3\r\nhé\r\n");
    });

    test("answers an inline command typed by hand, as in nc or telnet", async () => {
      const address = await listen(createServer());
      await expectReply(address, "PING\r\nECHO hello\n", "+PONG\r\n$5\r\nhello\r\n");
    });

    test("SET stores a value that GET returns; GET of a missing key is the null bulk string", async () => {
      const address = await listen(createServer());
      await expectReply(
        address,
        [cmd("SET", "k", "v"), cmd("GET", "k"), cmd("GET", "nope")].map(String).join(""),
        "+OK\r\n$1\r\nv\r\n$-1\r\n",
      );
    });

    test("DEL and EXISTS count keys, as many times as they are named", async () => {
      const address = await listen(createServer());
      const bytes = Buffer.concat([
        cmd("SET", "a", "1"),
        cmd("EXISTS", "a", "a", "b"),
        cmd("DEL", "a", "b"),
        cmd("EXISTS", "a"),
      ]);
      await expectReply(address, bytes, "+OK\r\n:2\r\n:1\r\n:0\r\n");
    });

    test("INCR counts from 0 and refuses a value that is not an integer", async () => {
      const address = await listen(createServer());
      const bytes = Buffer.concat([
        cmd("INCR", "n"),
        cmd("INCR", "n"),
        cmd("SET", "s", "1.5"),
        cmd("INCR", "s"),
      ]);
      await expectReply(
        address,
        bytes,
        ":1\r\n:2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n",
      );
    });

    test("SET NX sets only a missing key, SET XX only an existing one", async () => {
      const address = await listen(createServer());
      const bytes = Buffer.concat([
        cmd("SET", "k", "1", "XX"),
        cmd("SET", "k", "2", "NX"),
        cmd("SET", "k", "3", "NX"),
        cmd("SET", "k", "4", "xx"),
        cmd("GET", "k"),
      ]);
      await expectReply(address, bytes, "$-1\r\n+OK\r\n$-1\r\n+OK\r\n$1\r\n4\r\n");
    });

    test("SET with PX or EX expires the key once its time has passed (lazily, on read)", async () => {
      let now = 1_000_000;
      const address = await listen(createServer({ store: new Store({ now: () => now }) }));
      const inbox = await expectReply(
        address,
        Buffer.concat([cmd("SET", "a", "1", "PX", "100"), cmd("SET", "b", "2", "EX", "1")]),
        "+OK\r\n+OK\r\n",
      );
      // As in Redis, a key expires once the time is past its expiry time: at exactly +100 ms
      // `a` is still there, 1 ms later it is gone.
      now += 100;
      inbox.socket.write(cmd("GET", "a"));
      const atExpiry = "+OK\r\n+OK\r\n$1\r\n1\r\n";
      await untilAll(inbox, atExpiry);
      expect(show(inbox.bytes()), "GET a at exactly its expiry time").toBe(show(atExpiry));
      now += 1;
      inbox.socket.write(Buffer.concat([cmd("GET", "a"), cmd("GET", "b")]));
      const all = `${atExpiry}$-1\r\n$1\r\n2\r\n`;
      await untilAll(inbox, all);
      expect(show(inbox.bytes()), "GET a 1 ms past its expiry time, then GET b").toBe(show(all));
    });

    test("a plain SET removes a key's TTL; INCR keeps it", async () => {
      let now = 0;
      const address = await listen(createServer({ store: new Store({ now: () => now }) }));
      const setup = [
        cmd("SET", "a", "1", "PX", "10"),
        cmd("SET", "a", "2"),
        cmd("SET", "n", "1", "PX", "10"),
        cmd("INCR", "n"),
      ];
      const inbox = await expectReply(address, Buffer.concat(setup), "+OK\r\n+OK\r\n+OK\r\n:2\r\n");
      now = 11;
      inbox.socket.write(Buffer.concat([cmd("GET", "a"), cmd("GET", "n")]));
      const all = "+OK\r\n+OK\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n";
      await untilAll(inbox, all);
      expect(show(inbox.bytes())).toBe(show(all));
    });

    test("refuses an expire time of 0 or a non-number, as Redis words it", async () => {
      const address = await listen(createServer());
      const bytes = Buffer.concat([
        cmd("SET", "k", "v", "EX", "0"),
        cmd("SET", "k", "v", "PX", "soon"),
        cmd("SET", "k", "v", "EX"),
      ]);
      await expectReply(
        address,
        bytes,
        "-ERR invalid expire time in 'set' command\r\n-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n",
      );
    });

    test("accepts an expiry time up to 2^63 - 1 ms on the store's clock, as Redis does", async () => {
      const address = await listen(createServer({ store: new Store({ now: () => 1000 }) }));
      await expectReply(
        address,
        Buffer.concat([
          cmd("SET", "k", "v", "PX", String(2n ** 63n - 1n - 1000n)),
          cmd("SET", "k", "v", "PX", String(2n ** 63n - 1000n)),
          cmd("SET", "k", "v", "EX", String((2n ** 63n - 1n - 1000n) / 1000n)),
          cmd("GET", "k"),
        ]),
        "+OK\r\n-ERR invalid expire time in 'set' command\r\n+OK\r\n$1\r\nv\r\n",
      );
    });

    test("answers what clients send when they connect: COMMAND DOCS, CLIENT, CONFIG GET", async () => {
      const address = await listen(createServer());
      await expectReply(
        address,
        Buffer.concat([
          cmd("COMMAND", "DOCS"),
          cmd("CLIENT", "SETINFO", "LIB-NAME", "ioredis"),
          cmd("client", "setname", "me"),
          cmd("CONFIG", "get", "SAVE"),
        ]),
        "*0\r\n+OK\r\n+OK\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
      );
    });

    test("answers INFO with a bulk string that says loading:0, as ioredis's ready check reads it", async () => {
      const address = await listen(createServer());
      const inbox = new Inbox(await connect(address));
      inbox.socket.write(cmd("INFO"));
      // A whole bulk string: `$<n>\r\n`, n bytes, CRLF.
      const whole = (b: Buffer) => {
        const header = /^\$(\d+)\r\n/.exec(b.toString("latin1"));
        return header !== null && b.length >= header[0].length + Number(header[1]) + 2;
      };
      const got = await within(inbox.until(whole, "a bulk string"), () =>
        explain("INFO", "INFO", '"$<n>\\r\\n...loading:0\\r\\n...\\r\\n"', inbox.bytes()),
      );
      expect(show(got), "INFO's fields are `name:value` lines ended by CRLF").toMatch(
        /^"\$\d+\\r\\n# Server\\r\\n.*loading:0\\r\\n.*\\r\\n"$/,
      );
    });

    test("the store keeps a copy of a value: the bytes it was given may be a view of a chunk", () => {
      const store = new Store();
      const chunk = Buffer.from("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
      const view = chunk.subarray(chunk.indexOf("hello"), chunk.indexOf("hello") + 5);
      store.set(Buffer.from("k"), view);
      chunk.fill(0x21); // the chunk's memory used for something else
      expect(
        show(store.get(Buffer.from("k")) ?? ""),
        "set() copies the value: a stored view would change with the chunk under it, and keep the whole chunk in memory",
      ).toBe(show("hello"));
    });

    test("sweeps expired keys that nobody reads, with no timer per key", () => {
      let now = 0;
      const store = new Store({ now: () => now });
      for (let i = 0; i < 1000; i++) store.set(Buffer.from(`k${i}`), Buffer.from("v"), 50);
      store.set(Buffer.from("forever"), Buffer.from("v"));
      now = 50;
      expect(store.sweep(), "at exactly their expiry time the keys are still alive").toBe(0);
      now = 51;
      expect(store.sweep(), "1 ms past their expiry time").toBe(1000);
      expect(store.size).toBe(1);
    });

    test("the server sweeps on one timer, every sweepInterval ms, and stops when it closes", async () => {
      // Only the interval timers are faked: the network and within() run on real time.
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      // Each interval timer the server starts, seen through a wrapper of the fake setInterval. Not
      // vi.spyOn: vitest may restore a spy again after this file, which would put the fake back.
      const fakeSetInterval = globalThis.setInterval;
      const timers: NodeJS.Timeout[] = [];
      globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
        const timer = fakeSetInterval(...args);
        timers.push(timer);
        return timer;
      }) as typeof setInterval;
      onTestFinished(() => {
        globalThis.setInterval = fakeSetInterval;
        vi.useRealTimers();
      });
      let now = 0;
      let sweeps = 0;
      class CountingStore extends Store {
        override sweep(): number {
          sweeps++;
          return super.sweep();
        }
      }
      const store = new CountingStore({ now: () => now });
      const server = createServer({ store, sweepInterval: 50 });
      await listen(server);
      expect(timers.length, "one setInterval for the whole server").toBe(1);
      expect(
        timers[0]?.hasRef(),
        "the sweep timer is unref()'d: it must never keep the process alive",
      ).toBe(false);
      store.set(Buffer.from("k"), Buffer.from("v"), 10);
      now = 11;
      vi.advanceTimersByTime(49);
      expect(sweeps, "no sweep before sweepInterval ms").toBe(0);
      vi.advanceTimersByTime(1);
      expect({ sweeps, size: store.size }, "one sweep at sweepInterval ms").toEqual({
        sweeps: 1,
        size: 0,
      });
      vi.advanceTimersByTime(100);
      expect(sweeps, "and one every sweepInterval ms").toBe(3);
      await within(
        new Promise<void>((resolve) => server.close(() => resolve())),
        "the server to close",
      );
      vi.advanceTimersByTime(500);
      expect(sweeps, "no sweep once the server has closed").toBe(3);
    });

    test("a store whose sweep throws does not bring the server down", async () => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      let sweeps = 0;
      class BrokenStore extends Store {
        override sweep(): number {
          sweeps++;
          throw new Error("the sweep broke");
        }
      }
      const address = await listen(createServer({ store: new BrokenStore() }));
      // The default interval is one second. A throw here would be an uncaught exception in a
      // real timer.
      expect(() => vi.advanceTimersByTime(5_000)).not.toThrow();
      expect(sweeps, "a sweep that threw stops the timer: it would throw the same way again").toBe(
        1,
      );
      await expectReply(address, cmd("PING"), "+PONG\r\n");
    });

    test("values are binary-safe: CRLF and bytes that are not UTF-8 come back unchanged", async () => {
      const address = await listen(createServer());
      const value = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe, 0x24, 0x2a, 0x0d, 0x0a]);
      const reply = Buffer.concat([Buffer.from("+OK\r\n$9\r\n"), value, Buffer.from("\r\n")]);
      await expectReply(
        address,
        Buffer.concat([cmd("SET", "bin", value), cmd("GET", "bin")]),
        reply,
      );
    });

    test("keys are bytes: keys differing only in bytes that are not UTF-8 stay apart", async () => {
      const address = await listen(createServer());
      const k1 = Buffer.from([0xff]);
      const k2 = Buffer.from([0xfe]);
      const bytes = Buffer.concat([cmd("SET", k1, "one"), cmd("SET", k2, "two"), cmd("GET", k1)]);
      await expectReply(address, bytes, "+OK\r\n+OK\r\n$3\r\none\r\n");
    });

    test("__proto__ and constructor are ordinary keys, and unknown commands", async () => {
      const address = await listen(createServer());
      const bytes = Buffer.concat([
        cmd("GET", "__proto__"),
        cmd("SET", "__proto__", "a"),
        cmd("SET", "constructor", "b"),
        cmd("GET", "__proto__"),
        cmd("EXISTS", "constructor", "toString"),
        cmd("__proto__"),
      ]);
      await expectReply(
        address,
        bytes,
        "$-1\r\n+OK\r\n+OK\r\n$1\r\na\r\n:1\r\n-ERR unknown command '__proto__', with args beginning with: \r\n",
      );
    });
  });

  describe("framing on a real connection", () => {
    test("answers a command that arrives one byte at a time, once", async () => {
      const address = await listen(createServer());
      const inbox = new Inbox(await connect(address));
      for (const byte of cmd("ECHO", "slow")) {
        inbox.socket.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      inbox.socket.write(cmd("PING"));
      const all = "$4\r\nslow\r\n+PONG\r\n";
      await untilAll(inbox, all);
      expect(show(inbox.bytes())).toBe(show(all));
    });

    test("1,000 pipelined commands in one write get 1,000 replies, in order", async () => {
      const address = await listen(createServer());
      const commands = Array.from({ length: 1000 }, (_, i) => cmd("ECHO", String(i)));
      const expected = Array.from(
        { length: 1000 },
        (_, i) => `$${String(i).length}\r\n${i}\r\n`,
      ).join("");
      const inbox = new Inbox(await connect(address));
      inbox.socket.write(Buffer.concat(commands));
      const got = await within(
        inbox.until((b) => b.length >= expected.length, "1,000 replies"),
        () => `1,000 replies; ${inbox.bytes().length} of ${expected.length} bytes arrived`,
      );
      expect(
        got.toString("latin1") === expected,
        explain("1,000 pipelined ECHOs", "ECHO 0 ... ECHO 999", show(expected, 60), got),
      ).toBe(true);
    });

    test("stops reading a client's commands while that client does not read its replies", async () => {
      const server = createServer();
      const paused = pausedSocket(server);
      const address = await listen(server);
      const client = await connect(address);
      // Counted here rather than with an Inbox: 32 MiB is too much to keep re-joining.
      let received = 0;
      let last: Buffer = Buffer.alloc(0);
      const receivedAtLeast = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => received >= n && resolve();
          client.on("data", check);
          check();
        });
      client.on("data", (chunk: Buffer) => {
        received += chunk.length;
        last = chunk;
      });
      client.pause();
      const big = Buffer.alloc(1024 * 1024, 0x61);
      const gets = Array.from({ length: 32 }, () => cmd("GET", "big"));
      client.write(Buffer.concat([cmd("SET", "big", big), ...gets]));
      const serverSide = await within(
        paused,
        "the server to pause the socket once write() returns false (32 MiB of replies unread)",
      );
      expect(serverSide.isPaused(), "the server pauses the socket when write() returns false").toBe(
        true,
      );
      client.resume();
      const replies = 5 + 32 * (big.length + 12); // +OK, then 32 times $1048576\r\n...\r\n
      await within(
        receivedAtLeast(replies),
        () =>
          `all 33 replies once the client reads again; ${received} of ${replies} bytes arrived. Does the server go on writing on "drain"?`,
      );
      // Reading resumes on 'drain': a command sent now is answered.
      client.write(cmd("PING"));
      await within(
        receivedAtLeast(replies + 7),
        () =>
          `+PONG for a PING sent after the backlog drained; ${received - replies} of 7 bytes arrived. Does the server resume() reading on "drain"?`,
      );
      expect(show(last.subarray(-7)), "PING after the backlog drained").toBe(show("+PONG\r\n"));
    });

    test("a client that resets its connection mid-reply leaves the server serving the others", async () => {
      const server = createServer();
      const paused = pausedSocket(server);
      const address = await listen(server);
      const rude = await connect(address);
      rude.on("error", () => {});
      rude.pause();
      const big = Buffer.alloc(1024 * 1024, 0x61);
      const gets = Array.from({ length: 32 }, () => cmd("GET", "big"));
      rude.write(Buffer.concat([cmd("SET", "big", big), ...gets]));
      const serverSide = await within(
        paused,
        "the server to pause the socket of a client that does not read",
      );
      expect(
        serverSide.listenerCount("error"),
        "an 'error' listener on each connection: without one, a reset by one client crashes the server",
      ).toBeGreaterThan(0);
      // An RST while the server still has replies to write: its socket emits "error" (ECONNRESET
      // or EPIPE). Without an "error" listener, that one client would crash the whole server.
      rude.resetAndDestroy();
      await expectReply(address, cmd("PING"), "+PONG\r\n");
    });
  });

  describe("bad input", () => {
    test("an unknown command gets Redis's wording, naming its first arguments", async () => {
      const address = await listen(createServer());
      await expectReply(
        address,
        cmd("FOO", "a", "b"),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
      );
    });

    test("an unknown command's reply shows at most 128 characters of its name and of its arguments", async () => {
      const address = await listen(createServer());
      await expectReply(
        address,
        Buffer.concat([cmd("FOO", "a".repeat(200), "b"), cmd("b".repeat(200), "x")]),
        `-ERR unknown command 'FOO', with args beginning with: '${"a".repeat(128)}' \r\n` +
          `-ERR unknown command '${"b".repeat(128)}', with args beginning with: 'x' \r\n`,
      );
    });

    test("a command with the wrong number of arguments gets Redis's wording", async () => {
      const address = await listen(createServer());
      await expectReply(
        address,
        Buffer.concat([cmd("GET"), cmd("ECHO", "a", "b"), cmd("PING", "a", "b")]),
        "-ERR wrong number of arguments for 'get' command\r\n-ERR wrong number of arguments for 'echo' command\r\n-ERR wrong number of arguments for 'ping' command\r\n",
      );
    });

    test("an invalid bulk length gets an error, then the connection closes", async () => {
      const address = await listen(createServer());
      await expectReplyThenClose(
        address,
        "*1\r\n$x\r\nPING\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
      );
    });

    // A length is decimal digits and nothing else (Redis 7 reads it with string2ll): Number(line)
    // would take "", " 4", "+4", "04" and "0x1" as numbers. Replies recorded from redis-server.
    const LENIENT_LENGTHS: [string, string][] = [
      ["*1\r\n$\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*1\r\n$ 4\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*1\r\n$+4\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*1\r\n$04\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*1\r\n$4 \r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*0x1\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
      ["*+1\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
      ["*01\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
      ["*\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ];
    test.each(LENIENT_LENGTHS)(
      "a length is digits only: %j is refused as redis-server refuses it",
      async (bytes, reply) => {
        const address = await listen(createServer());
        await expectReplyThenClose(address, bytes, reply);
      },
    );

    test("the server's caps: maxArrayLength words, and 16 MiB bulk strings unless told otherwise", async () => {
      const address = await listen(createServer({ maxArrayLength: 2 }));
      await expectReply(address, cmd("ECHO", "two"), "$3\r\ntwo\r\n");
      await expectReplyThenClose(
        address,
        "*3\r\n$3\r\nSET\r\n",
        "-ERR Protocol error: invalid multibulk length\r\n",
      );
      const defaults = await listen(createServer());
      await expectReplyThenClose(
        defaults,
        `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${16 * 1024 * 1024 + 1}\r\n`,
        "-ERR Protocol error: invalid bulk length\r\n",
      );
    });

    test("a bulk length above the server's cap is refused before any data is read", async () => {
      const address = await listen(createServer({ maxBulkLength: 1024 }));
      await expectReplyThenClose(
        address,
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
      );
    });

    test("an invalid array count, or an item that is not a bulk string, closes the connection", async () => {
      const address = await listen(createServer());
      await expectReplyThenClose(
        address,
        "*x\r\n",
        "-ERR Protocol error: invalid multibulk length\r\n",
      );
      await expectReplyThenClose(
        address,
        "*1\r\n:1\r\n",
        "-ERR Protocol error: expected '$', got ':'\r\n",
      );
    });

    test("an inline command over the cap closes the connection: too big inline request", async () => {
      const address = await listen(createServer({ maxLineLength: 1024 }));
      await expectReplyThenClose(
        address,
        "a".repeat(2048),
        "-ERR Protocol error: too big inline request\r\n",
      );
    });

    test("commands before a protocol error in the same write are still answered", async () => {
      const address = await listen(createServer());
      await expectReplyThenClose(
        address,
        "PING\r\n*1\r\n$-5\r\n",
        "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
      );
    });

    test("QUIT gets +OK, then the server closes the connection and answers nothing after it", async () => {
      const address = await listen(createServer());
      await expectReplyThenClose(address, "PING\r\nquit\r\nPING\r\n", "+PONG\r\n+OK\r\n");
      await expectReplyThenClose(
        address,
        Buffer.concat([cmd("QUIT"), cmd("SET", "k", "v")]).toString("latin1"),
        "+OK\r\n",
      );
      await expectReply(address, cmd("GET", "k"), "$-1\r\n");
    });

    test("after QUIT, commands that arrive later on the same connection are ignored", async () => {
      const server = createServer();
      const address = await listen(server);
      // allowHalfOpen: this client keeps writing after the server's FIN, as a careless one would.
      const pair = await openPair(server, address, { allowHalfOpen: true });
      await deliver(pair, "QUIT\r\n");
      await within(pair.client.closed(), "the server to close its side after +OK");
      await deliver(pair, cmd("SET", "k", "after quit"));
      await expectReply(address, cmd("GET", "k"), "$-1\r\n");
    });

    test("a command that throws gets -ERR and closes only its connection: the server serves on", async () => {
      // A store with a bug: reading the key "boom" throws. That is no fault of the client's, but
      // the server must not fall over, and must not leave the client waiting.
      class BrokenStore extends Store {
        override get(key: Buffer): Buffer | undefined {
          if (key.toString() === "boom") throw new Error("the store broke");
          return super.get(key);
        }
      }
      const address = await listen(createServer({ store: new BrokenStore() }));
      const inbox = new Inbox(await connect(address));
      inbox.socket.write(Buffer.concat([cmd("PING"), cmd("GET", "boom"), cmd("PING")]));
      const got = await within(inbox.untilEnd(), () =>
        explain(
          "A command that throws: the server should reply with an error and close",
          "PING, GET boom, PING",
          '"+PONG\\r\\n-ERR ...the store broke...\\r\\n", then the end of the connection',
          inbox.bytes(),
        ),
      );
      expect(show(got)).toMatch(/^"\+PONG\\r\\n-ERR [^\\]*the store broke[^\\]*\\r\\n"$/);
      await expectReply(address, cmd("PING"), "+PONG\r\n");
    });

    test("one client's protocol error leaves the server serving the others", async () => {
      const address = await listen(createServer());
      const good = new Inbox(await connect(address));
      good.socket.write(cmd("SET", "k", "still here"));
      await untilAll(good, "+OK\r\n");
      await expectReplyThenClose(
        address,
        "*1\r\n$1\r\nxyz\r\n",
        "-ERR Protocol error: expected '\\r\\n' after 1 bytes of bulk data\r\n",
      );
      good.socket.write(cmd("GET", "k"));
      const all = "+OK\r\n$10\r\nstill here\r\n";
      await untilAll(good, all);
      expect(show(good.bytes())).toBe(show(all));
    });
  });

  describe("real clients", () => {
    test("ioredis connects with its default options and uses the server", async () => {
      const address = await listen(createServer());
      const redis = new Redis({
        ...address,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      // What ioredis met on the way, for the failure message: its own rejection says only
      // "Connection is closed." when the server refused or dropped the handshake.
      const reported: string[] = [];
      redis.on("error", (error: Error) => reported.push(`${error.name}: ${error.message}`));
      const cause = () =>
        reported.length > 0
          ? `ioredis reported: ${reported.join("; ")}`
          : "ioredis reported no error: did the server answer each command of the handshake?";
      try {
        const connected = await within(
          redis.connect().then(
            () => "connected",
            (error: Error) => `${error.message} ${cause()}`,
          ),
          () => `ioredis to connect (it sends CLIENT SETINFO and INFO first). ${cause()}`,
        );
        expect(
          connected,
          "ioredis connects: it sends CLIENT SETINFO and INFO, and needs a reply to each",
        ).toBe("connected");
        expect(redis.status, `ioredis is ready after its handshake. ${cause()}`).toBe("ready");
        expect(await redis.set("greeting", "héllo")).toBe("OK");
        expect(await redis.get("greeting")).toBe("héllo");
        expect(await redis.getBuffer("missing")).toBe(null);
        expect(await redis.set("ttl", "1", "EX", 100)).toBe("OK");
        expect(await redis.incr("visits")).toBe(1);
        const results = await redis.pipeline().incr("visits").incr("visits").get("visits").exec();
        expect(results).toEqual([
          [null, 2],
          [null, 3],
          [null, "3"],
        ]);
        await expect(redis.call("NOPE")).rejects.toThrow("ERR unknown command 'NOPE'");
      } finally {
        redis.disconnect();
      }
    });

    testWithTool("redis-cli", "install redis-tools")(
      "redis-cli sets and gets a value",
      async () => {
        const { port } = await listen(createServer());
        const args = ["-h", "127.0.0.1", "-p", String(port)];
        expect((await run("redis-cli", [...args, "SET", "k", "hello world"])).stdout).toBe("OK\n");
        expect((await run("redis-cli", [...args, "GET", "k"])).stdout).toBe("hello world\n");
        expect((await run("redis-cli", [...args, "FOO"])).stdout).toContain(
          "ERR unknown command 'FOO'",
        );
      },
    );

    testWithTool("redis-cli", "install redis-tools")(
      "redis-cli's interactive mode starts (it sends COMMAND DOCS first)",
      async () => {
        const { port } = await listen(createServer());
        const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port)], {
          input: "PING\nECHO hi\n",
        });
        expect(stdout).toBe("PONG\nhi\n");
      },
    );

    testWithTool("redis-benchmark", "install redis-tools")(
      "redis-benchmark runs SET and GET against the server",
      async () => {
        const { port } = await listen(createServer());
        const { stdout, stderr } = await run("redis-benchmark", [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-t",
          "set,get",
          "-n",
          "1000",
          "-c",
          "10",
          "-q",
        ]);
        expect(stderr, "redis-benchmark prints errors (e.g. a failed CONFIG GET) on stderr").toBe(
          "",
        );
        expect(stdout).toMatch(/SET: [\d.]+ requests per second/);
        expect(stdout).toMatch(/GET: [\d.]+ requests per second/);
      },
    );
  });

  describeWithTool("redis-server", "install redis-server")("the same bytes as redis-server", () => {
    const redis = useRedisServer();

    const cases: [string, string | Buffer][] = [
      ["PING and ECHO", Buffer.concat([cmd("PING"), cmd("ECHO", "héllo")])],
      [
        "SET, GET, DEL, EXISTS",
        Buffer.concat([
          cmd("SET", "diff:k", "v"),
          cmd("GET", "diff:k"),
          cmd("EXISTS", "diff:k", "diff:k"),
          cmd("DEL", "diff:k"),
          cmd("GET", "diff:k"),
        ]),
      ],
      [
        "INCR and its errors",
        Buffer.concat([
          cmd("DEL", "diff:n", "diff:s"),
          cmd("INCR", "diff:n"),
          cmd("SET", "diff:s", " 1"),
          cmd("INCR", "diff:s"),
        ]),
      ],
      [
        "SET's options and their errors",
        Buffer.concat([
          cmd("SET", "diff:o", "1", "NX"),
          cmd("SET", "diff:o", "1", "NX"),
          cmd("SET", "diff:o", "2", "EX", "0"),
          cmd("SET", "diff:o", "2", "NX", "XX"),
          cmd("SET", "diff:o", "2", "PX"),
        ]),
      ],
      [
        "SET's options, all read before the expire time",
        Buffer.concat([
          cmd("DEL", "diff:p"),
          cmd("SET", "diff:p", "v", "EX", "abc", "FOO"),
          cmd("SET", "diff:p", "v", "EX", "0", "FOO"),
          cmd("SET", "diff:p", "v", "NX", "NX"),
          cmd("SET", "diff:p", "v", "XX", "XX", "EX", "10", "EX", "20"),
          cmd("SET", "diff:p", "v", "EX", "abc", "EX", "10"),
          cmd("SET", "diff:p", "v", "EX", "10", "EX", "abc"),
          cmd("SET", "diff:p", "v", "EX", "10", "PX", "10"),
          cmd("SET", "diff:p", "v", "XX", "NX"),
          cmd("SET", "diff:p", "v", "nx", "ex", "1"),
          cmd("SET", "diff:p", "v", "KEEPTTL", "EX"),
        ]),
      ],
      [
        "SET's expire times at the edges of 64 bits",
        Buffer.concat([
          cmd("SET", "diff:t", "v", "PX", "9007199254740993"),
          cmd("SET", "diff:t", "v", "PX", "9000000000000000000"),
          cmd("SET", "diff:t", "v", "PX", "9223372036854775807"),
          cmd("SET", "diff:t", "v", "PX", "9223372036854775808"),
          cmd("SET", "diff:t", "v", "EX", "9000000000000000"),
          cmd("SET", "diff:t", "v", "EX", "9223372036854775"),
          cmd("SET", "diff:t", "v", "EX", "9223372036854776"),
          cmd("SET", "diff:t", "v", "EX", "-1"),
          cmd("SET", "diff:t", "v", "PX", "01"),
          cmd("GET", "diff:t"),
        ]),
      ],
      ["an unknown command", cmd("FOO", "a", "b")],
      [
        "unknown commands and subcommands with long names and many arguments",
        Buffer.concat([
          cmd("FOO", "a".repeat(200), "b"),
          cmd("b".repeat(200), "x"),
          cmd("FOO", ..."abcdefghijklmnopqrstuvwxyz".split(""), "c".repeat(40), "d"),
          cmd("CONFIG", "FOO"),
          cmd("CONFIG", "e".repeat(200)),
          cmd("CLIENT", "FOO"),
        ]),
      ],
      [
        "what clients send when they connect: CONFIG GET",
        Buffer.concat([
          cmd("CONFIG", "GET", "save"),
          cmd("CONFIG", "GET", "appendonly"),
          cmd("CONFIG", "GET", "nope"),
          cmd("CONFIG", "GET"),
          cmd("CLIENT", "SETNAME", "diff"),
        ]),
      ],
      [
        "DEL and EXISTS of keys named like the command",
        Buffer.concat([
          cmd("SET", "EXISTS", "1"),
          cmd("EXISTS", "EXISTS"),
          cmd("SET", "DEL", "1"),
          cmd("DEL", "diff:nothing"),
          cmd("GET", "DEL"),
          cmd("DEL", "EXISTS", "DEL"),
        ]),
      ],
      [
        "INCR at the edges of 64 bits",
        Buffer.concat([
          cmd("SET", "diff:max", "9223372036854775807"),
          cmd("INCR", "diff:max"),
          cmd("SET", "diff:min", "-9223372036854775808"),
          cmd("INCR", "diff:min"),
          cmd("SET", "diff:big", "9223372036854775808"),
          cmd("INCR", "diff:big"),
        ]),
      ],
      [
        "wrong arity",
        Buffer.concat([
          cmd("GET"),
          cmd("get", "a", "b"),
          cmd("INCR"),
          cmd("PING", "a", "b"),
          cmd("SET", "k"),
          cmd("DEL"),
          cmd("EXISTS"),
          cmd("ECHO"),
          cmd("CONFIG"),
          cmd("CLIENT"),
        ]),
      ],
      ["inline commands and empty lines", "\r\nPING\r\nECHO   two-spaces\r\n\tPING\t\r\n"],
      [
        "inline commands with quotes and escapes",
        `ECHO "a b"\r\nECHO 'c d'\r\nECHO "\\x41\\x4g\\n\\"\\q"\r\nECHO 'it\\'s'\r\nECHO a"b c"\r\nECHO ""\r\n`,
      ],
      ["an inline command with unbalanced quotes", 'PING\r\nECHO "a b\r\nPING\r\n'],
      ["a closing quote followed by more than a space", `ECHO 'a b'c\r\nPING\r\n`],
      ["QUIT, and what follows it", "PING\r\nQUIT\r\nPING\r\n"],
      ["empty commands, skipped", "*0\r\n*-1\r\n*-5\r\nPING\r\n"],
      ["an invalid bulk length", "*1\r\n$x\r\n"],
      ["a negative bulk length", "*2\r\n$3\r\nGET\r\n$-1\r\n"],
      ["an invalid multibulk length", "*abc\r\n"],
      ["a bulk length with a sign", "*1\r\n$+4\r\nPING\r\n"],
      ["a bulk length with a leading zero", "*1\r\n$04\r\nPING\r\n"],
      ["an empty bulk length", "*1\r\n$\r\n"],
      ["a multibulk length in hex", "*0x1\r\n$4\r\nPING\r\n"],
      ["a multibulk length with a space", "* 1\r\n$4\r\nPING\r\n"],
      ["an item that is not a bulk string", "*1\r\n+PING\r\n"],
    ];
    test.each(cases)("replies as redis-server does to %s", async (_name, bytes) => {
      const address = await listen(createServer());
      const ours = await repliesTo(address, bytes);
      const theirs = await repliesTo({ path: redis.path }, bytes);
      expect(show(ours), explain("Compared with redis-server", bytes, show(theirs), ours)).toBe(
        show(theirs),
      );
    });
  });
});
