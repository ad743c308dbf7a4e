import net from "node:net";
import { describe, expect, test } from "vitest";
import { Meter, since, type Traffic } from "#lesson/lesson-12-choosing/meter.ts";
import { connect, Inbox, listen } from "#shared/testing/net.ts";
import { within } from "#shared/testing/patience.ts";

/**
 * A server whose sockets are tracked by `meter`: it answers each chunk with `reply(chunk)`. If
 * track() throws, the connection is closed and `failed` rejects with that error, so that a test
 * waiting on the answer fails with it rather than with the closed connection.
 */
async function meteredServer(meter: Meter, reply: (chunk: Buffer) => Buffer | string) {
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  failed.catch(() => {});
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    try {
      meter.track(socket);
    } catch (error) {
      socket.destroy();
      fail(error);
      return;
    }
    socket.on("data", (chunk) => socket.write(reply(chunk)));
  });
  const address = await listen(server);
  return Object.assign(address, { failed });
}

/** `waiting`, or the error track() threw, whichever comes first. */
function unless<T>(failed: Promise<never>, waiting: Promise<T>): Promise<T> {
  return Promise.race([waiting, failed]);
}

const traffic = (meter: Meter): string => JSON.stringify(meter.read());

describe("Step 1: Counting bytes and connections", () => {
  test("counts the bytes a client sent as up and the bytes it was sent as down", async () => {
    const meter = new Meter();
    const address = await meteredServer(meter, () => "pong\r\n");
    const client = await connect(address);
    const inbox = new Inbox(client);
    client.write("ping\r\n");
    await unless(
      address.failed,
      within(
        inbox.until((b) => b.includes("pong\r\n")),
        "pong\\r\\n back",
      ),
    );
    expect(meter.read(), "6 bytes up (ping\\r\\n), 6 down (pong\\r\\n), one connection").toEqual({
      connections: 1,
      bytesUp: 6,
      bytesDown: 6,
    });
  });

  test("counts bytes, not characters: é is 2 bytes in UTF-8 and 🚀 is 4", async () => {
    const meter = new Meter();
    const address = await meteredServer(meter, () => "🚀");
    const client = await connect(address);
    const inbox = new Inbox(client);
    client.write("é");
    await unless(
      address.failed,
      within(
        inbox.until((b) => b.length === 4),
        "the 4 bytes of 🚀",
      ),
    );
    expect(
      meter.read(),
      `"é".length is 1 and "🚀".length is 2; on the wire they are 2 and 4 bytes (Buffer.byteLength). Got ${traffic(meter)}`,
    ).toEqual({ connections: 1, bytesUp: 2, bytesDown: 4 });
  });

  test("counts a message that arrives in many chunks, and many writes, in full", async () => {
    const meter = new Meter();
    const address = await meteredServer(meter, (chunk) => Buffer.alloc(chunk.length * 2, "x"));
    const client = await connect(address);
    const inbox = new Inbox(client);
    for (let i = 0; i < 50; i++) client.write("abcdefghij");
    await unless(
      address.failed,
      within(
        inbox.until((b) => b.length === 1_000),
        "1,000 bytes back",
      ),
    );
    expect(meter.read()).toEqual({ connections: 1, bytesUp: 500, bytesDown: 1_000 });
  });

  test("a connection that has closed still counts, with all it carried", async () => {
    const meter = new Meter();
    const address = await meteredServer(meter, () => "bye\r\n");
    const first = await connect(address);
    const inbox = new Inbox(first);
    first.write("hello\r\n");
    await unless(
      address.failed,
      within(
        inbox.until((b) => b.includes("bye\r\n")),
        "bye\\r\\n back",
      ),
    );
    first.end();
    await unless(address.failed, within(inbox.untilEnd(), "the server's side to close"));
    const second = await connect(address);
    second.write("x");
    await unless(
      address.failed,
      within(
        new Inbox(second).until((b) => b.length === 5),
        "bye\\r\\n on the second",
      ),
    );
    expect(
      meter.read(),
      `the closed connection's 7 up and 5 down stay in the totals. Got ${traffic(meter)}`,
    ).toEqual({ connections: 2, bytesUp: 8, bytesDown: 10 });
  });

  test("counts from the moment a socket is tracked, not from its start", async () => {
    const meter = new Meter();
    let fail: (error: unknown) => void = () => {};
    const failed = new Promise<never>((_resolve, reject) => (fail = reject));
    failed.catch(() => {});
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => {
        socket.write("before");
        // Tracked only once "before" is written: it is not counted.
        try {
          meter.track(socket);
        } catch (error) {
          fail(error);
          socket.destroy();
          return;
        }
        socket.on("data", (chunk) => socket.write(chunk));
      });
    });
    const address = await listen(server);
    const client = await connect(address);
    const inbox = new Inbox(client);
    client.write("1");
    await unless(
      failed,
      within(
        inbox.until((b) => b.toString() === "before"),
        "before",
      ),
    );
    client.write("22");
    await unless(
      failed,
      within(
        inbox.until((b) => b.toString() === "before22"),
        "the echo of 22",
      ),
    );
    expect(meter.read()).toEqual({ connections: 1, bytesUp: 2, bytesDown: 2 });
  });

  test("reading does not change what is counted, and a new meter starts at zero", async () => {
    const meter = new Meter();
    expect(meter.read()).toEqual({ connections: 0, bytesUp: 0, bytesDown: 0 });
    const address = await meteredServer(meter, () => "ok");
    const client = await connect(address);
    client.write("go");
    await unless(
      address.failed,
      within(
        new Inbox(client).until((b) => b.length === 2),
        "ok",
      ),
    );
    const once1 = meter.read();
    expect(meter.read()).toEqual(once1);
    expect(once1).toEqual({ connections: 1, bytesUp: 2, bytesDown: 2 });
  });

  test("since() is what happened between two readings, field by field", () => {
    const before: Traffic = { connections: 2, bytesUp: 100, bytesDown: 1_000 };
    const after: Traffic = { connections: 5, bytesUp: 130, bytesDown: 1_250 };
    expect(since(after, before)).toEqual({ connections: 3, bytesUp: 30, bytesDown: 250 });
    expect(since(after, after)).toEqual({ connections: 0, bytesUp: 0, bytesDown: 0 });
  });
});
