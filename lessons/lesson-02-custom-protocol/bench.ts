/**
 * Step 5: the same SET/GET workload over RESP and over HTTP, measured side by side.
 *
 *   npm run bench -- lesson-02       (runs this file against the reference solution)
 *
 * Each variant runs OPS operations (half SET, half GET, on KEYS keys holding VALUE_SIZE-byte
 * values) from CONCURRENCY workers, each waiting for its reply before its next operation. Bytes
 * on the wire are counted on the server's sockets (bytesRead + bytesWritten). The figures depend
 * on the machine; nothing here is asserted.
 */
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { createClient, type RespClient } from "#lesson/lesson-02-custom-protocol/client.ts";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { Store } from "#lesson/lesson-02-custom-protocol/store.ts";

const OPS = Number(process.env.BENCH_OPS ?? 10_000);
const CONCURRENCY = 50;
const KEYS = 1_000;
const VALUE_SIZE = 32;
const VALUE = "v".repeat(VALUE_SIZE);

/** One operation: SET on even indexes, GET on odd ones, cycling through the keys. */
type Op = (kind: "SET" | "GET", key: string) => Promise<unknown>;

interface Result {
  variant: string;
  opsPerSecond: number;
  medianMs: number;
  p99Ms: number;
  bytesPerOp: number;
}

/** Sums bytesRead + bytesWritten over every socket a server has accepted, closed ones included. */
function countBytes(server: net.Server): () => number {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  return () => {
    let total = 0;
    for (const socket of sockets) total += socket.bytesRead + socket.bytesWritten;
    return total;
  };
}

/** Runs `count` operations from CONCURRENCY workers; returns each one's latency in ms. */
async function drive(count: number, workerOps: Op[]): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    workerOps.map(async (op) => {
      while (next < count) {
        const i = next++;
        const start = performance.now();
        await op(i % 2 === 0 ? "SET" : "GET", `key-${Math.floor(i / 2) % KEYS}`);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return latencies;
}

async function measure(
  variant: string,
  server: net.Server,
  makeOps: () => Promise<Op[]>,
): Promise<Result> {
  const bytes = countBytes(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const ops = await makeOps();
  // Warm up (and fill every key), so that the measured run is not the JIT's first.
  await drive(2 * KEYS, ops);
  const bytesBefore = bytes();
  const start = performance.now();
  const latencies = await drive(OPS, ops);
  const seconds = (performance.now() - start) / 1000;
  const bytesAfter = bytes();
  latencies.sort((a, b) => a - b);
  return {
    variant,
    opsPerSecond: OPS / seconds,
    medianMs: latencies[Math.floor(latencies.length / 2)] as number,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] as number,
    bytesPerOp: (bytesAfter - bytesBefore) / OPS,
  };
}

function port(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

// --- RESP ---------------------------------------------------------------------------------

const clients: RespClient[] = [];

async function respOps(server: net.Server, connections: number): Promise<Op[]> {
  for (let i = 0; i < connections; i++) {
    clients.push(await createClient({ host: "127.0.0.1", port: port(server) }));
  }
  const mine = clients.slice(-connections);
  return Array.from({ length: CONCURRENCY }, (_, w) => {
    const client = mine[w % connections] as RespClient;
    return (kind, key) =>
      kind === "SET" ? client.command("SET", key, VALUE) : client.command("GET", key);
  });
}

// --- HTTP ---------------------------------------------------------------------------------

/** The same store behind HTTP: PUT /kv/<key> stores the body, GET /kv/<key> returns it. */
function createHttpServer(keepAlive: boolean): http.Server {
  const store = new Store();
  return http.createServer((req, res) => {
    // Without keep-alive, every response closes its connection: one TCP connection per request.
    if (!keepAlive) res.setHeader("Connection", "close");
    const key = Buffer.from(decodeURIComponent((req.url ?? "").slice("/kv/".length)));
    if (req.method === "PUT") {
      const body: Buffer[] = [];
      req.on("data", (chunk: Buffer) => body.push(chunk));
      req.on("end", () => {
        store.set(key, Buffer.concat(body));
        res.writeHead(204).end();
      });
      return;
    }
    const value = store.get(key);
    if (value === undefined) res.writeHead(404).end();
    else {
      res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": value.length,
      });
      res.end(value);
    }
  });
}

async function httpOps(server: net.Server): Promise<Op[]> {
  const base = `http://127.0.0.1:${port(server)}/kv/`;
  const op: Op = async (kind, key) => {
    const response =
      kind === "SET"
        ? await fetch(base + encodeURIComponent(key), { method: "PUT", body: VALUE })
        : await fetch(base + encodeURIComponent(key));
    await response.arrayBuffer();
  };
  return Array.from({ length: CONCURRENCY }, () => op);
}

/** The same requests through node:http's own client, to tell HTTP's cost from fetch's. */
async function nodeHttpOps(server: net.Server): Promise<Op[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  agents.push(agent);
  const op: Op = (kind, key) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: port(server),
          path: `/kv/${encodeURIComponent(key)}`,
          method: kind === "SET" ? "PUT" : "GET",
          agent,
        },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end(kind === "SET" ? VALUE : undefined);
    });
  return Array.from({ length: CONCURRENCY }, () => op);
}

const agents: http.Agent[] = [];

// --- Run ----------------------------------------------------------------------------------

const servers: net.Server[] = [];
function track<T extends net.Server>(server: T): T {
  servers.push(server);
  return server;
}

console.log(
  `lesson-02 bench: ${OPS.toLocaleString("en")} operations (50% SET, 50% GET, ${VALUE_SIZE}-byte values, ` +
    `${KEYS} keys), ${CONCURRENCY} in flight, 127.0.0.1`,
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)\n`,
);

const results: Result[] = [];
const resp1 = track(createServer());
results.push(await measure("RESP, 1 connection, pipelined", resp1, () => respOps(resp1, 1)));
const respN = track(createServer());
results.push(
  await measure(`RESP, ${CONCURRENCY} connections`, respN, () => respOps(respN, CONCURRENCY)),
);
const httpKeep = track(createHttpServer(true));
results.push(await measure("HTTP/1.1 + fetch, keep-alive", httpKeep, () => httpOps(httpKeep)));
const httpAgent = track(createHttpServer(true));
results.push(
  await measure("HTTP/1.1 + node:http, keep-alive", httpAgent, () => nodeHttpOps(httpAgent)),
);
const httpClose = track(createHttpServer(false));
results.push(
  await measure("HTTP/1.1 + fetch, Connection: close", httpClose, () => httpOps(httpClose)),
);

const rows = results.map((r) => [
  r.variant,
  Math.round(r.opsPerSecond).toLocaleString("en"),
  r.medianMs.toFixed(3),
  r.p99Ms.toFixed(3),
  r.bytesPerOp.toFixed(1),
]);
const header = ["variant", "ops/s", "median ms", "p99 ms", "bytes/op on the wire"];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((row) => (row[i] as string).length)),
);
const line = (cells: string[]) =>
  cells
    .map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
    )
    .join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of rows) console.log(line(row));
console.log("\nbytes/op counts both directions on the server's sockets, TCP/IP headers excluded.");

await Promise.all(clients.map((client) => client.close()));
for (const agent of agents) agent.destroy();
for (const server of servers) {
  if (server instanceof http.Server) server.closeAllConnections();
  server.close();
}
