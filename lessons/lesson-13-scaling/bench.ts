/**
 * Step 5's chat on one, two and three instances, with a real redis-server between them (the
 * README's "Measure it"):
 *
 *   (a) fan-out latency: a message from a client on instance a to a client on a (same instance)
 *       and to one on b (across instances), median and p99;
 *   (b) messages per second delivered, with the same publishers and subscribers spread over
 *       one, two and three instances.
 *
 *   npm run bench -- lesson-13              (runs this file against the learner's code)
 *   npm run bench -- lesson-13 --solution   (against the reference solution)
 *
 * Every client runs in this process, every instance in its own (instance.ts). Figures depend on
 * the machine; nothing here is asserted.
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { io as connectClient, type Socket } from "socket.io-client";
import { spawnInstance, type InstanceProcess } from "#lesson/lesson-13-scaling/instance.ts";
import { freePort, startRedis } from "./cluster.ts";

const LATENCY_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const THROUGHPUT_MS = 4_000;
const PUBLISHERS = 4;
const SUBSCRIBERS = 12;
/** Messages each publisher may have sent and not yet had acknowledged. */
const WINDOW = 16;

async function connect(origin: string, name: string): Promise<Socket> {
  const socket = connectClient(origin, {
    auth: { name },
    forceNew: true,
    reconnection: false,
    transports: ["websocket"],
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

async function join(socket: Socket, room: string): Promise<void> {
  const answer = (await socket.timeout(5_000).emitWithAck("join", room)) as { ok: boolean };
  if (!answer.ok) throw new Error(`join ${room} refused: ${JSON.stringify(answer)}`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** (a) One sender on a; each message waits for both receivers before the next is sent. */
async function fanOutLatency(a: InstanceProcess, b: InstanceProcess) {
  const room = "latency";
  const sender = await connect(a.origin, "sender");
  const near = await connect(a.origin, "near");
  const far = await connect(b.origin, "far");
  for (const socket of [sender, near, far]) await join(socket, room);
  const times = { near: [] as number[], far: [] as number[] };
  let sentAt = 0;
  let pending: (() => void) | undefined;
  let arrived = 0;
  const arrive = (into: number[], n: number) => (message: { text: string }) => {
    if (Number(message.text) !== n) return;
    into.push(performance.now() - sentAt);
    if (++arrived === 2) pending?.();
  };
  for (let n = -20; n < LATENCY_MESSAGES; n++) {
    // The first 20 are a warm-up (JIT, connection buffers), not counted.
    const keep = n >= 0;
    arrived = 0;
    const both = new Promise<void>((resolve) => {
      pending = resolve;
    });
    const onNear = arrive(keep ? times.near : [], n);
    const onFar = arrive(keep ? times.far : [], n);
    near.on("chat", onNear);
    far.on("chat", onFar);
    sentAt = performance.now();
    sender.emit("chat", { room, id: `l${n}`, text: String(n) });
    await both;
    near.off("chat", onNear);
    far.off("chat", onFar);
  }
  for (const socket of [sender, near, far]) socket.disconnect();
  const summary = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return { median: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  return { near: summary(times.near), far: summary(times.far) };
}

/** (b) PUBLISHERS and SUBSCRIBERS spread round robin over `instances`, for THROUGHPUT_MS. */
async function throughput(instances: readonly InstanceProcess[], run: number) {
  const room = `throughput-${run}`;
  const at = (i: number) => (instances[i % instances.length] as InstanceProcess).origin;
  const subscribers = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, i) => connect(at(i), `s${i}`)),
  );
  const publishers = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => connect(at(i), `p${i}`)),
  );
  for (const socket of [...subscribers, ...publishers]) await join(socket, room);
  let delivered = 0;
  let counting = false;
  for (const socket of subscribers) socket.on("chat", () => void (counting && delivered++));
  let sent = 0;
  const deadline = performance.now() + THROUGHPUT_MS;
  counting = true;
  const started = performance.now();
  await Promise.all(
    publishers.flatMap((publisher, p) =>
      Array.from({ length: WINDOW }, async (_, w) => {
        for (let n = 0; performance.now() < deadline; n++) {
          await publisher
            .timeout(10_000)
            .emitWithAck("chat", { room, id: `p${p}-${w}-${n}`, text: "x".repeat(64) });
          sent++;
        }
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1_000;
  counting = false;
  for (const socket of [...subscribers, ...publishers]) socket.disconnect();
  return { sentPerSecond: sent / seconds, deliveredPerSecond: delivered / seconds };
}

/** A plain text table: each column as wide as its widest cell. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)));
  return [header, widths.map((w) => "-".repeat(w)), ...rows]
    .map((r) => line(r).join("  "))
    .join("\n");
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const perSecond = (value: number) => Math.round(value).toLocaleString("en");

console.log(
  `lesson-13 bench: Socket.IO with the Redis Streams adapter, instances as processes on 127.0.0.1, one redis-server`,
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)\n`,
);

const redis = await startRedis();
const instances: InstanceProcess[] = [];
try {
  for (const name of ["a", "b", "c"]) {
    instances.push(await spawnInstance({ name, redisUrl: redis.url, port: await freePort() }));
  }
  const [a, b] = instances as [InstanceProcess, InstanceProcess];
  const latency = await fanOutLatency(a, b);
  console.log(
    `(a) fan-out latency, ${LATENCY_MESSAGES} messages one at a time from a client on instance a\n`,
  );
  console.log(
    table(
      ["receiver", "median", "p99"],
      [
        ["on a (same instance)", ms(latency.near.median), ms(latency.near.p99)],
        ["on b (across, via Redis)", ms(latency.far.median), ms(latency.far.p99)],
      ],
    ),
  );

  const rows: string[][] = [];
  for (const count of [1, 2, 3]) {
    const result = await throughput(instances.slice(0, count), count);
    rows.push([
      String(count),
      perSecond(result.sentPerSecond),
      perSecond(result.deliveredPerSecond),
    ]);
  }
  console.log(
    `\n(b) ${PUBLISHERS} publishers (${WINDOW} messages in flight each) and ${SUBSCRIBERS} subscribers in one room, ` +
      `spread round robin over the instances, ${THROUGHPUT_MS / 1_000} s each\n`,
  );
  console.log(table(["instances", "sent/s", "delivered/s"], rows));
  console.log(
    `\nEvery process here shares this machine's ${os.cpus().length} cores: the instances, redis-server, and ` +
      "this one, which runs all the clients. A second instance adds a process, not a machine.",
  );
} finally {
  await Promise.all(instances.map((instance) => instance.stop()));
  await redis.stop();
}
