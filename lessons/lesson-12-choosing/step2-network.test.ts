import net from "node:net";
import { performance } from "node:perf_hooks";
import { describe, expect, onTestFinished, test } from "vitest";
import { Meter } from "#lesson/lesson-12-choosing/meter.ts";
import { startNetwork, type NetworkOptions } from "#lesson/lesson-12-choosing/network.ts";
import { connect, Inbox, listen } from "#shared/testing/net.ts";
import { PATIENCE_MS, within } from "#shared/testing/patience.ts";

/** The round trip the delay tests simulate: long enough to measure, short enough to be quick. */
const RTT = 60;
/** Timers fire a little early or late; lower bounds allow for this much. */
const SLACK = 5;

/** An echo server (allowHalfOpen: it answers a FIN with "bye" and its own FIN). */
async function echo() {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("end", () => socket.end("bye"));
    socket.on("error", () => {});
  });
  return listen(server);
}

async function network(target: { host: string; port: number }, options: NetworkOptions) {
  const started = await startNetwork(target, options);
  onTestFinished(() => started.close());
  return { host: "127.0.0.1", port: started.port };
}

/** A client socket whose reset (the network closing it hard) is an outcome, not a crash. */
function quiet(socket: net.Socket): net.Socket {
  socket.on("error", () => {});
  return socket;
}

async function timed<T>(promise: Promise<T>): Promise<number> {
  const start = performance.now();
  await promise;
  return performance.now() - start;
}

describe("Step 2: A network with a round-trip time", () => {
  test("with rttMs 0 it forwards both ways, at once", async () => {
    const address = await network(await echo(), { rttMs: 0 });
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    client.write("hello");
    await within(
      inbox.until((b) => b.toString() === "hello"),
      "the echo of hello through the network",
    );
  });

  test("a request on a new connection is answered after two round trips at the soonest", async () => {
    const address = await network(await echo(), { rttMs: RTT });
    const start = performance.now();
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    client.write("ping");
    await within(
      inbox.until((b) => b.toString() === "ping"),
      "the echo",
      2 * RTT + PATIENCE_MS,
    );
    const ms = performance.now() - start;
    expect(
      ms,
      `one round trip for the handshake (RFC 9293 §3.5: data may ride on its third segment), one for the exchange: ${2 * RTT} ms or more, got ${ms.toFixed(1)}`,
    ).toBeGreaterThanOrEqual(2 * RTT - SLACK);
  });

  test("on a connection already open, a request costs one round trip", async () => {
    const address = await network(await echo(), { rttMs: RTT });
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    client.write("a");
    await within(
      inbox.until((b) => b.toString() === "a"),
      "the first echo",
      2 * RTT + PATIENCE_MS,
    );
    const ms = await timed(
      (client.write("b"),
      within(
        inbox.until((b) => b.toString() === "ab"),
        "the second echo",
        RTT + PATIENCE_MS,
      )),
    );
    expect(
      ms,
      `half a round trip each way: ${RTT} ms or more, got ${ms.toFixed(1)}`,
    ).toBeGreaterThanOrEqual(RTT - SLACK);
    expect(
      ms,
      `and not the handshake again: well under ${2 * RTT} ms, got ${ms.toFixed(1)}`,
    ).toBeLessThan(2 * RTT - SLACK);
  });

  test("keeps the order of many small writes, each way", async () => {
    const address = await network(await echo(), { rttMs: 10 });
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    const expected = Array.from({ length: 300 }, (_, i) => `${i},`).join("");
    for (let i = 0; i < 300; i++) client.write(`${i},`);
    const got = await within(
      inbox.until((b) => b.length >= expected.length),
      "all 300 writes echoed",
      3_000,
    );
    expect(got.toString(), "the bytes in the order they were written").toBe(expected);
  });

  test("carries a large transfer whole, without holding it all (backpressure)", async () => {
    const address = await network(await echo(), { rttMs: 0 });
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    const payload = Buffer.alloc(8 * 1024 * 1024, "z");
    client.write(payload);
    const got = await within(
      inbox.until((b) => b.length >= payload.length),
      "8 MiB echoed",
      5_000,
    );
    expect(got.length).toBe(payload.length);
  });

  test("a half-close travels like a byte: the server sees the FIN, and its answer still comes back", async () => {
    const address = await network(await echo(), { rttMs: 20 });
    const client = quiet(await connect(address, { allowHalfOpen: true }));
    const inbox = new Inbox(client);
    client.end("last");
    const got = await within(
      inbox.untilEnd(),
      "the echo, bye and the server's FIN after the client's FIN",
      2_000,
    );
    expect(
      got.toString(),
      "the client's side closed, the server's still open until it said bye",
    ).toBe("lastbye");
  });

  test("a server that refuses the connection: the client's connection through the network closes", async () => {
    // A port nobody listens on.
    const closed = net.createServer();
    const { port } = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const address = await network({ host: "127.0.0.1", port }, { rttMs: 0 });
    const client = quiet(await connect(address));
    const inbox = new Inbox(client);
    await within(inbox.untilEnd(), "the client's connection to close, as the server's refused");
  });

  test("counts every connection through it with the meter it is given", async () => {
    const meter = new Meter();
    // Step 1 first: an unwritten Meter fails here, not inside the network's connection handler.
    meter.read();
    const address = await network(await echo(), { rttMs: 0, meter });
    for (const text of ["one", "two"]) {
      const client = quiet(await connect(address));
      const inbox = new Inbox(client);
      client.write(text);
      await within(
        inbox.until((b) => b.toString() === text),
        `the echo of ${text}`,
      );
    }
    expect(meter.read(), "two connections, 6 bytes each way").toEqual({
      connections: 2,
      bytesUp: 6,
      bytesDown: 6,
    });
  });

  test("close() ends the connections still open", async () => {
    const started = await startNetwork(await echo(), { rttMs: 0 });
    const client = quiet(await connect({ host: "127.0.0.1", port: started.port }));
    const inbox = new Inbox(client);
    client.write("x");
    await within(
      inbox.until((b) => b.length === 1),
      "the echo",
    );
    await within(started.close(), "close() to resolve with a connection open");
    await within(inbox.untilEnd(), "the open connection to be ended by close()");
  });
});
