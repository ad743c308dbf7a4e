import { afterEach, describe, expect, test } from "vitest";
import { measure, type Measurement, type Session } from "#lesson/lesson-12-choosing/harness.ts";
import { Meter } from "#lesson/lesson-12-choosing/meter.ts";
import { startNetwork, type Network } from "#lesson/lesson-12-choosing/network.ts";
import { within } from "#shared/testing/patience.ts";
import { requestTransports } from "./request.ts";
import type { RequestTransport, RunningServer } from "./transport.ts";

const OPTIONS = { warmup: 1, operations: 5, concurrency: 1 };

/** What a test opened, closed after it whether it passed or not: client, network, server. */
let opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const thing of opened.reverse()) await thing.close();
  opened = [];
});

function rowNamed(name: string): RequestTransport {
  const row = requestTransports.find((transport) => transport.name === name);
  if (row === undefined) throw new Error(`request.ts has no row named ${JSON.stringify(name)}`);
  return row;
}

/** The row's server behind a network with no delay, one client through it, measured. */
async function run(row: RequestTransport): Promise<{ measurement: Measurement; meter: Meter }> {
  const server: RunningServer = await row.start();
  opened.push(server);
  const meter = new Meter();
  // Step 1 first: the network calls the meter in its connection handler, where an unwritten Meter
  // would throw outside the test and leave the row's client waiting.
  meter.read();
  const network: Network = await startNetwork(
    { host: "127.0.0.1", port: server.port },
    { rttMs: 0, meter },
  );
  opened.push(network);
  const session: Session = await within(
    row.connect(network.port),
    `${row.name}: a client connected through the network`,
  );
  opened.push(session);
  const measurement = await within(
    measure(session, meter, OPTIONS),
    `${row.name}: ${OPTIONS.warmup} + ${OPTIONS.operations} operations through the network`,
  );
  return { measurement, meter };
}

describe("Step 4: A warm-up, then the measurement", () => {
  describe("the request rows", () => {
    test.each(requestTransports.map((row) => [row.name, row] as const))(
      "%s answers user 123 through the network, five times, and every byte crosses it",
      async (name, row) => {
        const { measurement, meter } = await run(row);
        expect(measurement.latency.count, `${name}: the five measured operations`).toBe(5);
        // The client connected to the network's port, not the server's: the meter saw it.
        const total = meter.read();
        expect(total.connections, `${name}: connections through the network`).toBeGreaterThan(0);
        expect(
          measurement.perOperation.bytesUp,
          `${name}: bytes asked per operation`,
        ).toBeGreaterThan(0);
        expect(
          measurement.perOperation.bytesDown,
          `${name}: bytes per answer; user 123's JSON alone is over 60 bytes`,
        ).toBeGreaterThan(60);
      },
    );
  });

  test("a new connection per request opens one connection per operation; keep-alive opens one", async () => {
    const perRequest = await run(rowNamed("HTTP/1.1, new connection"));
    expect(
      perRequest.measurement.traffic.connections,
      "HTTP/1.1 with Connection: close: one connection for each of the 5 measured requests",
    ).toBe(OPTIONS.operations);
    expect(
      perRequest.meter.read().connections,
      "the warm-up's request had its own connection too",
    ).toBe(OPTIONS.warmup + OPTIONS.operations);

    for (const name of ["HTTP/1.1, keep-alive", "HTTP/1.1, pipelining"]) {
      const kept = await run(rowNamed(name));
      expect(
        kept.meter.read().connections,
        `${name}: a persistent connection (RFC 9112 §9.3) carries the warm-up and every request`,
      ).toBe(1);
      expect(
        kept.measurement.traffic.connections,
        `${name}: no connection opened while measuring, the warm-up's is reused`,
      ).toBe(0);
    }
  });
});
