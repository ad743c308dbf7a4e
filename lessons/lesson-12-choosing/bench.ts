/**
 * Lesson 12's benchmark: every request row and every push row of the course, through the harness
 * of exercises/lesson-12-choosing/ (or solutions/, with --solution), behind a network with the
 * round-trip time given by --rtt (0 by default). Prints both tables from one run, then writes the
 * same figures as SVG charts to lessons/lesson-12-choosing/charts/.
 *
 *   request rows   warm-up, then operations one after another (pipelining: 10 at a time)
 *   push rows      50 subscribers, 1,000 updates published 2 ms apart (fanout.ts)
 *   memory         each row's server alone in a child process, 100 clients held open (memory.ts)
 */
import os from "node:os";
import path from "node:path";
import { measure } from "#lesson/lesson-12-choosing/harness.ts";
import { Meter } from "#lesson/lesson-12-choosing/meter.ts";
import { startNetwork } from "#lesson/lesson-12-choosing/network.ts";
import { formatTable } from "#lesson/lesson-12-choosing/table.ts";
import { writeCharts, type BarChart } from "./charts.ts";
import { runFanout, type FanoutResult } from "./fanout.ts";
import { memoryPerClient } from "./memory.ts";
import { pushTransports } from "./push.ts";
import { requestTransports } from "./request.ts";
import type { RequestTransport } from "./transport.ts";

const options = JSON.parse(process.env.COURSE_BENCH_OPTIONS ?? "{}") as { rtt?: string };
const rttMs = Number(options.rtt ?? 0);
if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 5_000) {
  console.error(
    `--rtt takes a round-trip time in ms, 0 to 5000: not ${JSON.stringify(options.rtt)}`,
  );
  process.exit(2);
}
/** Fewer operations behind a slow network: each costs at least one round trip. */
const OPERATIONS = rttMs === 0 ? 2_000 : Math.max(20, Math.min(500, Math.round(6_000 / rttMs)));
const WARMUP = rttMs === 0 ? 200 : 3;
const SUBSCRIBERS = 50;
const UPDATES = 1_000;
const MEMORY_CLIENTS = 100;

const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const machine = `${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()}`;
console.log(
  `Round-trip time: ${rttMs} ms (each direction ${rttMs / 2} ms; a new connection one more round trip)`,
);
console.log(`Machine: ${machine}\n`);

interface RequestResult {
  row: RequestTransport;
  concurrency: number;
  result: Awaited<ReturnType<typeof measure>>;
  connections: number;
}

async function runRequestRow(row: RequestTransport): Promise<RequestResult> {
  const server = await row.start();
  const meter = new Meter();
  const network = await startNetwork({ host: "127.0.0.1", port: server.port }, { rttMs, meter });
  // Pipelining only shows with requests in flight together; every other row asks one at a time.
  const concurrency = row.name.includes("pipelining") ? 10 : 1;
  const session = await row.connect(network.port);
  try {
    const result = await measure(session, meter, {
      warmup: WARMUP,
      operations: OPERATIONS,
      concurrency,
    });
    return { row, concurrency, result, connections: meter.read().connections };
  } finally {
    await session.close();
    await network.close();
    await server.close();
  }
}

const requests: RequestResult[] = [];
for (const row of requestTransports) requests.push(await runRequestRow(row));

const pushes: FanoutResult[] = [];
for (const row of pushTransports) {
  pushes.push(
    await runFanout(row, {
      rttMs,
      subscribers: SUBSCRIBERS,
      updates: UPDATES,
      gapMs: 2,
      drainMs: 15_000 + 20 * rttMs,
      warmupWaitMs: 3_000 + 4 * rttMs,
    }),
  );
}

const memory = new Map<string, number>();
for (const row of requestTransports)
  memory.set(`request ${row.name}`, await memoryPerClient("request", row.name, MEMORY_CLIENTS));
for (const row of pushTransports)
  memory.set(`push ${row.name}`, await memoryPerClient("push", row.name, MEMORY_CLIENTS));
const kib = (bytes: number | undefined) => Math.max(0, (bytes ?? 0) / 1024);

console.log(
  `One request, "get user 123": ${WARMUP} warm-up operations, then ${OPERATIONS} measured\n`,
);
console.log(
  formatTable(
    [
      "transport (lesson)",
      "median ms",
      "p99 ms",
      "ops/s",
      "bytes up/op",
      "bytes down/op",
      "connections",
      "KiB/client",
    ],
    requests.map(({ row, concurrency, result, connections }) => [
      `${row.name} (${row.lesson.slice("lesson-".length)})${concurrency > 1 ? `, ${concurrency} in flight` : ""}`,
      result.latency.median,
      result.latency.p99,
      Math.round(result.throughput),
      result.perOperation.bytesUp,
      result.perOperation.bytesDown,
      connections,
      kib(memory.get(`request ${row.name}`)),
    ]),
  ),
);
console.log(
  `\n${UPDATES.toLocaleString("en-US")} updates to ${SUBSCRIBERS} subscribers, one every 2 ms\n`,
);
console.log(
  formatTable(
    [
      "transport (lesson)",
      "median ms",
      "p99 ms",
      "deliveries/s",
      "bytes/update",
      "connections",
      "delivered",
      "KiB/client",
    ],
    pushes.map((p) => [
      `${p.name} (${p.lesson.slice("lesson-".length)})`,
      p.latency.median,
      p.latency.p99,
      Math.round(p.throughput),
      Math.round(p.bytesPerUpdate),
      p.connections,
      `${p.delivered}/${p.expected}${p.duplicates ? `, ${p.duplicates} twice` : ""}`,
      kib(memory.get(`push ${p.name}`)),
    ]),
  ),
);
console.log(
  `\nBytes are counted at the network between client and server, both ways, HTTP heads and framing included; TCP/IP headers and handshakes are not. Memory is the server's heap and Buffers per open client, ${MEMORY_CLIENTS} clients held open, each row's server alone in a process.`,
);

const subtitle = `${machine}; round-trip time ${rttMs} ms`;
const charts: BarChart[] = [
  {
    file: `request-latency-rtt${rttMs}`,
    title: 'One request, "get user 123": latency',
    subtitle,
    labels: requests.map((r) => r.row.name),
    series: [
      { name: "median", values: requests.map((r) => r.result.latency.median) },
      { name: "p99", values: requests.map((r) => r.result.latency.p99) },
    ],
    unit: "ms",
  },
  {
    file: `request-bytes-rtt${rttMs}`,
    title: "One request: bytes on the wire per operation",
    subtitle,
    labels: requests.map((r) => r.row.name),
    series: [
      { name: "up (request)", values: requests.map((r) => r.result.perOperation.bytesUp) },
      { name: "down (response)", values: requests.map((r) => r.result.perOperation.bytesDown) },
    ],
    unit: "bytes",
  },
  {
    file: `push-latency-rtt${rttMs}`,
    title: "1,000 updates to 50 subscribers: latency from publish to receipt",
    subtitle,
    labels: pushes.map((p) => p.name),
    series: [
      { name: "median", values: pushes.map((p) => p.latency.median) },
      { name: "p99", values: pushes.map((p) => p.latency.p99) },
    ],
    unit: "ms",
  },
  {
    file: `memory-rtt${rttMs}`,
    title: "Server memory per open client",
    subtitle,
    labels: [
      ...requests.map((r) => `${r.row.name} (request)`),
      ...pushes.map((p) => `${p.name} (push)`),
    ],
    series: [
      {
        name: "KiB per client",
        values: [
          ...requests.map((r) => kib(memory.get(`request ${r.row.name}`))),
          ...pushes.map((p) => kib(memory.get(`push ${p.name}`))),
        ],
      },
    ],
    unit: "KiB",
  },
];
const written = writeCharts(path.join("lessons", "lesson-12-choosing", "charts"), charts);
console.log(`\nCharts: ${written.join(", ")}`);
// Clients' agents and timers of the rows may linger: the bench is over.
process.exit(0);
