import net from "node:net";
import { describe, expect, onTestFinished, test } from "vitest";
import { measure, type Session } from "#lesson/lesson-12-choosing/harness.ts";
import { Meter } from "#lesson/lesson-12-choosing/meter.ts";
import { startNetwork } from "#lesson/lesson-12-choosing/network.ts";
import { connect, Inbox, listen } from "#shared/testing/net.ts";
import { within } from "#shared/testing/patience.ts";

/** A session whose operations are counted, and can be made to wait or fail. */
function countingSession(options: { fail?: number } = {}) {
  const state = { calls: 0, inFlight: 0, most: 0, closed: false };
  const session: Session = {
    async operation() {
      state.calls += 1;
      state.inFlight += 1;
      state.most = Math.max(state.most, state.inFlight);
      // Two turns of the event loop: long enough for other operations to start beside this one.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      state.inFlight -= 1;
      if (state.calls === options.fail) throw new Error(`operation ${state.calls} failed`);
    },
    async close() {
      state.closed = true;
    },
  };
  return { session, state };
}

/** A session over a real connection: each operation sends "get\n" and waits for 10 bytes. */
async function echoSession(meter: Meter): Promise<Session> {
  // Step 1 first: an unwritten Meter fails here, not inside the network's connection handler.
  meter.read();
  const server = net.createServer((socket) => {
    socket.on("data", () => socket.write("0123456789"));
  });
  const target = await listen(server);
  const network = await startNetwork(target, { rttMs: 0, meter });
  onTestFinished(() => network.close());
  const socket = await connect({ host: "127.0.0.1", port: network.port });
  const inbox = new Inbox(socket);
  let expected = 0;
  return {
    async operation() {
      expected += 10;
      socket.write("get\n");
      await within(
        inbox.until((b) => b.length >= expected),
        `${expected} bytes back`,
      );
    },
    async close() {
      socket.destroy();
    },
  };
}

describe("Step 4: A warm-up, then the measurement", () => {
  test("runs the warm-up and then the measured operations: warmup + operations calls", async () => {
    const { session, state } = countingSession();
    const result = await measure(session, new Meter(), {
      warmup: 7,
      operations: 30,
      concurrency: 1,
    });
    expect(state.calls, "7 warm-up operations and 30 measured ones").toBe(37);
    expect(result.latency.count, "latencies of the measured operations only, not the warm-up").toBe(
      30,
    );
  });

  test("keeps `concurrency` operations in flight, and never more", async () => {
    const { session, state } = countingSession();
    await measure(session, new Meter(), { warmup: 0, operations: 40, concurrency: 4 });
    expect(state.most, "at most 4 at once, and 4 reached").toBe(4);
    const one = countingSession();
    await measure(one.session, new Meter(), { warmup: 0, operations: 10, concurrency: 1 });
    expect(one.state.most, "one at a time with concurrency 1").toBe(1);
  });

  test("bytes per operation and connections come from the measured operations, not the warm-up", async () => {
    const meter = new Meter();
    const session = await echoSession(meter);
    const result = await measure(session, meter, { warmup: 5, operations: 20, concurrency: 1 });
    expect(result.perOperation, "4 bytes up (get\\n), 10 down, each operation").toEqual({
      bytesUp: 4,
      bytesDown: 10,
    });
    expect(
      result.traffic,
      "the connection was opened before the measurement: none opened during it",
    ).toEqual({
      connections: 0,
      bytesUp: 80,
      bytesDown: 200,
    });
    expect(meter.read().bytesUp, "the meter itself saw the warm-up too").toBe(100);
  });

  test("throughput is measured operations per second of the measurement", async () => {
    const { session } = countingSession();
    const started = performance.now();
    const result = await measure(session, new Meter(), {
      warmup: 0,
      operations: 50,
      concurrency: 5,
    });
    const elapsedS = (performance.now() - started) / 1000;
    expect(
      result.throughput,
      "no faster than 50 operations in the time measure() took",
    ).toBeGreaterThanOrEqual(50 / elapsedS);
    expect(Number.isFinite(result.throughput)).toBe(true);
    expect(result.latency.min).toBeGreaterThan(0);
  });

  test("an operation that fails rejects measure() with its error", async () => {
    const { session } = countingSession({ fail: 12 });
    await expect(
      measure(session, new Meter(), { warmup: 2, operations: 20, concurrency: 3 }),
      "a failed operation is not a fast one: it must not be counted, or swallowed",
    ).rejects.toThrow("operation 12 failed");
  });
});
