/**
 * Step 5: the same SET/GET workload over RESP and over HTTP, measured side by side.
 *
 *   npm run bench -- lesson-02       (runs this file against the reference solution)
 *
 * Each variant runs OPS operations (half SET, half GET, on KEYS keys holding VALUE_SIZE-byte
 * values) from CONCURRENCY workers, each waiting for its reply before its next operation. Bytes
 * on the wire are counted on the server's sockets (bytesRead + bytesWritten). The figures depend
 * on the machine; nothing here is asserted.
 *
 * Beside the lesson's server, the real one, when it is installed: redis-server driven by the same
 * client (its bytes from its own INFO counters), and then both servers under redis-benchmark, the
 * load generator that comes with Redis, unpipelined and with 16 commands per write.
 */
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { createClient, type RespClient } from "#lesson/lesson-02-custom-protocol/client.ts";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { Store } from "#lesson/lesson-02-custom-protocol/store.ts";
import { hasTool, startRedis, type RedisProcess } from "#shared/processes.ts";

const OPS = Number(process.env.BENCH_OPS ?? 10_000);
/** redis-benchmark's -n: requests per test. */
const BENCHMARK_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
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
  return measureOps(variant, bytes, await makeOps());
}

async function measureOps(
  variant: string,
  bytes: () => number | Promise<number>,
  ops: Op[],
): Promise<Result> {
  // Warm up (and fill every key), so that the measured run is not the JIT's first.
  await drive(2 * KEYS, ops);
  const bytesBefore = await bytes();
  const start = performance.now();
  const latencies = await drive(OPS, ops);
  const seconds = (performance.now() - start) / 1000;
  const bytesAfter = await bytes();
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

async function respOps(server: net.Server | number, connections: number): Promise<Op[]> {
  const to = typeof server === "number" ? server : port(server);
  for (let i = 0; i < connections; i++) {
    clients.push(await createClient({ host: "127.0.0.1", port: to }));
  }
  const mine = clients.slice(-connections);
  return Array.from({ length: CONCURRENCY }, (_, w) => {
    const client = mine[w % connections] as RespClient;
    return (kind, key) =>
      kind === "SET" ? client.command("SET", key, VALUE) : client.command("GET", key);
  });
}

// --- redis-server ------------------------------------------------------------------------

/**
 * The bytes redis-server has read and written, from its own counters (INFO's
 * total_net_input_bytes and total_net_output_bytes), less what asking for them costs: one INFO
 * request and the reply to the one before, measured once by asking twice.
 */
async function redisBytes(redisPort: number): Promise<() => Promise<number>> {
  const client = await createClient({ host: "127.0.0.1", port: redisPort });
  clients.push(client);
  const counters = async () => {
    const info = String(await client.command("INFO", "stats"));
    const counter = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1]);
    return counter("total_net_input_bytes") + counter("total_net_output_bytes");
  };
  const asking = -(await counters()) + (await counters());
  // measureOps() asks before and after: the second time, take off what asking cost.
  let asked = 0;
  return async () => (await counters()) - (asked++ === 0 ? 0 : asking);
}

function redisVersion(): string {
  const printed = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /v=(\S+)/.exec(printed)?.[1] ?? "";
}

/** Requests per second for each test, from redis-benchmark's --csv output. */
function redisBenchmark(redisPort: number, pipeline: number): Promise<Map<string, number>> {
  const args = ["-h", "127.0.0.1", "-p", String(redisPort), "-t", "set,get"];
  args.push("-n", String(BENCHMARK_REQUESTS), "-c", String(CONCURRENCY));
  args.push("-P", String(pipeline), "--csv");
  return new Promise((resolve, reject) => {
    // Asynchronous: the lesson's server answers from this very process.
    execFile("redis-benchmark", args, { timeout: 300_000 }, (error, stdout) => {
      if (error) return reject(error);
      const rates = new Map<string, number>();
      for (const [, test, rps] of stdout.matchAll(/^"(\w+)","([\d.]+)"/gm)) {
        rates.set(test as string, Number(rps));
      }
      resolve(rates);
    });
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
let redis: RedisProcess | undefined;
if (hasTool("redis-server")) {
  redis = await startRedis();
  const version = redisVersion();
  results.push(
    await measureOps(
      `redis-server ${version}, 1 connection, pipelined`,
      await redisBytes(redis.port),
      await respOps(redis.port, 1),
    ),
  );
  results.push(
    await measureOps(
      `redis-server ${version}, ${CONCURRENCY} connections`,
      await redisBytes(redis.port),
      await respOps(redis.port, CONCURRENCY),
    ),
  );
}
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
printTable(["variant", "ops/s", "median ms", "p99 ms", "bytes/op on the wire"], rows);
console.log(
  "\nbytes/op counts both directions on the server's sockets (redis-server's from its INFO counters), TCP/IP headers excluded.",
);
if (redis === undefined) {
  console.log(
    "redis-server is not installed, so the real Redis is not beside yours (Debian and Ubuntu: apt-get install redis-server; macOS: brew install redis).",
  );
}

// --- The same load from redis-benchmark ----------------------------------------------------

if (hasTool("redis-benchmark")) {
  const ours = track(createServer());
  ours.listen(0, "127.0.0.1");
  await once(ours, "listening");
  console.log(
    `\nredis-benchmark -t set,get -n ${BENCHMARK_REQUESTS.toLocaleString("en")} -c ${CONCURRENCY} -P <pipeline>: ` +
      "requests per second, one server at a time",
  );
  const rate = (rates: Map<string, number>, test: string) =>
    Math.round(rates.get(test) ?? 0).toLocaleString("en");
  /** Both tests together: all their requests over all their time. */
  const overall = (rates: Map<string, number>) =>
    2 / (1 / (rates.get("SET") ?? 0) + 1 / (rates.get("GET") ?? 0));
  const table: string[][] = [];
  for (const pipeline of [1, 16]) {
    const mine = await redisBenchmark(port(ours), pipeline);
    const theirs = redis && (await redisBenchmark(redis.port, pipeline));
    const ratio = theirs ? (overall(mine) / overall(theirs)).toFixed(2) : "";
    table.push([`-P ${pipeline}`, "this lesson's", rate(mine, "SET"), rate(mine, "GET"), ratio]);
    if (theirs) {
      table.push([
        "",
        `redis-server ${redisVersion()}`,
        rate(theirs, "SET"),
        rate(theirs, "GET"),
        "1",
      ]);
    }
  }
  printTable(["pipeline", "server", "SET", "GET", "of redis-server's"], table, 2);
  console.log(
    "redis-benchmark runs in a process of its own; meanwhile the lesson's server has this one to itself.",
  );
} else {
  console.log(
    "\nredis-benchmark is not installed, so Redis's own load generator is not run (Debian and Ubuntu: apt-get install redis-tools; macOS: brew install redis).",
  );
}

await Promise.all(clients.map((client) => client.close()));
await redis?.stop();
for (const agent of agents) agent.destroy();
for (const server of servers) {
  if (server instanceof http.Server) server.closeAllConnections();
  server.close();
}

/** Columns padded to their widest cell: the first `left` to the left, the others to the right. */
function printTable(header: string[], rows: string[][], left = 1): void {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i < left ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}
