/**
 * What binary and gRPC buy, measured side by side from one run (the README's "Measure it"):
 *
 *   codec     the same users as protobuf (your codec, and protobufjs beside it) and as JSON
 *             (JSON.stringify/parse and the UTF-8 bytes they go on the wire as): bytes, and the
 *             median time to encode and to decode, for one user and for 1,000
 *   unary     GetUser over gRPC (the Step 3 server) against lesson 08's REST GET /users/123, the
 *             same number of calls in flight: calls per second, median and p99 latency
 *   10,000    all 10,000 users as one ListUsers stream, as one JSON document, and as lesson 08's
 *             pages of 100: wall time and bytes on the wire
 *
 *   npm run bench -- lesson-10              (your protobuf.ts and server.ts)
 *   npm run bench -- lesson-10 --solution   (the reference)
 *
 * The REST side is always lesson 08's reference: the baseline, so that this bench runs whether or
 * not lesson 08 is done. Every server runs in this process on 127.0.0.1, so client and server
 * share the CPU, as they share the machine in the README's run. Times depend on the machine;
 * bytes do not. Nothing here is asserted, except that every row got the users it asked for.
 */
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { createServer as createRestServer } from "#reference/lesson-08-rest/app.ts";
import { createStore, type Store, type User } from "#reference/lesson-08-rest/store.ts";
import {
  decodeMessage,
  encodeMessage,
  type MessageSpec,
  type ProtoMessage,
} from "#lesson/lesson-10-grpc/protobuf.ts";
import { UserSpec } from "#lesson/lesson-10-grpc/messages.ts";
import { createServer as createGrpcServer } from "#lesson/lesson-10-grpc/server.ts";
import { createUserClient, type UserServiceClient } from "#lesson/lesson-10-grpc/user-proto.ts";
import { printTable, since, startMetered, type Metered } from "../../shared/bench/wire.ts";

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), "protos", "user.proto");
const USERS = 10_000;
const CONCURRENCY = 16;
const SAMPLES = 31;
const UNARY_CALLS = Number(process.env.BENCH_CALLS ?? 4_000);

const number = (n: number): string => Math.round(n).toLocaleString("en");
const micros = (ms: number): string =>
  ms * 1000 >= 100 ? number(ms * 1000) : (ms * 1000).toFixed(1);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The median time of one `fn()`, ms: `samples` timings, each of `ops` calls in a row. */
function timeOf(fn: () => unknown, ops: number, samples: number): number {
  for (let i = 0; i < ops; i++) fn(); // warm up: let V8 optimise before anything is timed
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let i = 0; i < ops; i++) fn();
    times.push((performance.now() - start) / ops);
  }
  return median(times);
}

/** The store of lessons 08–09 (users 101 to 140), with users added up to `count`. */
function seededStore(count: number): Store {
  const store = createStore();
  const names = store.listUsers({ limit: 100 }).map((u) => u.name);
  for (let n = store.listUsers({ limit: count }).length; n < count; n++) {
    store.createUser({ name: names[n % names.length] as string, email: `user${n}@example.org` });
  }
  return store;
}

// ---------------------------------------------------------------------------------------------
// The codec: protobuf against JSON
// ---------------------------------------------------------------------------------------------

/** 1,000 users in one protobuf message: `message UserList { repeated User users = 1; }`. */
const UserListSpec: MessageSpec = {
  name: "users.v1.UserList",
  fields: [{ name: "users", number: 1, type: "message", repeated: true, message: UserSpec }],
};

interface Codec {
  name: string;
  encode: (value: ProtoMessage) => Uint8Array;
  decode: (bytes: Uint8Array) => unknown;
}

async function codecRows(store: Store): Promise<string[][]> {
  const root = await protobuf.load(PROTO);
  const namespace = root.lookup("users.v1") as protobuf.Namespace;
  namespace.add(
    new protobuf.Type("UserList").add(new protobuf.Field("users", 1, "User", "repeated")),
  );
  root.resolveAll();
  const pbUser = root.lookupType("users.v1.User");
  const pbList = root.lookupType("users.v1.UserList");

  const ada = store.getUser("123") as User;
  const thousand = { users: store.listUsers({ limit: 1_000 }) } as unknown as ProtoMessage;
  const cases = [
    {
      what: "one user",
      spec: UserSpec,
      type: pbUser,
      value: ada as unknown as ProtoMessage,
      ops: 2_000,
    },
    { what: "1,000 users", spec: UserListSpec, type: pbList, value: thousand, ops: 5 },
  ];

  const rows: string[][] = [];
  for (const { what, spec, type, value, ops } of cases) {
    const json: Codec = {
      name: "JSON",
      // What goes on the wire is bytes: the text, as UTF-8.
      encode: (v) => Buffer.from(JSON.stringify(v)),
      decode: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")),
    };
    // JSON of 1,000 users is the array itself, as a REST API sends it.
    const jsonValue = spec === UserListSpec ? (value.users as ProtoMessage) : value;
    const codecs: Codec[] = [
      {
        name: "protobuf, your codec",
        encode: (v) => encodeMessage(spec, v),
        decode: (bytes) => decodeMessage(spec, bytes),
      },
      {
        name: "protobuf, protobufjs",
        encode: (v) => type.encode(v).finish(),
        decode: (bytes) => type.toObject(type.decode(bytes)),
      },
      json,
    ];
    const measured = codecs.map((codec) => {
      const input = codec === json ? jsonValue : value;
      const bytes = codec.encode(input);
      check(what, codec.name, codec.decode(bytes), input);
      return {
        name: codec.name,
        bytes: bytes.length,
        encodeMs: timeOf(() => codec.encode(input), ops, SAMPLES),
        decodeMs: timeOf(() => codec.decode(bytes), ops, SAMPLES),
      };
    });
    const base = measured[measured.length - 1] as (typeof measured)[number];
    for (const m of measured) {
      rows.push([
        `${what}, ${m.name}`,
        number(m.bytes),
        micros(m.encodeMs),
        micros(m.decodeMs),
        m === base ? "" : against(m.encodeMs, base.encodeMs),
        m === base ? "" : against(m.decodeMs, base.decodeMs),
      ]);
    }
  }
  return rows;
}

/** A time beside JSON's: "2.1x faster", "1.6x slower". */
function against(ms: number, jsonMs: number): string {
  return ms <= jsonMs
    ? `${(jsonMs / ms).toFixed(1)}x faster`
    : `${(ms / jsonMs).toFixed(1)}x slower`;
}

/** Stops the bench when a codec does not give back what it was given. */
function check(what: string, codec: string, decoded: unknown, input: unknown): void {
  const a = JSON.stringify(decoded);
  const b = JSON.stringify(input);
  if (a !== b) {
    throw new Error(
      `${what}, ${codec}: decoding gave back ${a.slice(0, 200)}, not ${b.slice(0, 200)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Calls: gRPC against REST
// ---------------------------------------------------------------------------------------------

async function startGrpc(store: Store): Promise<{ port: number; server: grpc.Server }> {
  const server = createGrpcServer({ store });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, server };
}

async function startHttp(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A TCP relay to 127.0.0.1:port, metered: what crosses it is what the client sent and got. */
function relayTo(port: number): net.Server {
  return net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
}

/** One GET with node:http, the body parsed; anything but 200 stops the bench. */
function getJson(url: string, agent: http.Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { Accept: "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200)
            reject(new Error(`GET ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve(JSON.parse(text));
        });
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

function getUserByGrpc(client: UserServiceClient): Promise<User> {
  return new Promise((resolve, reject) =>
    client.GetUser({ id: "123" }, (error, user) =>
      error || user === undefined
        ? reject(error ?? new Error("GetUser gave no user"))
        : resolve(user),
    ),
  );
}

interface Load {
  perSecond: number;
  medianMs: number;
  p99Ms: number;
}

/** `total` calls, `CONCURRENCY` of them in flight at any time. */
async function load(call: () => Promise<unknown>, total: number): Promise<Load> {
  const latencies: number[] = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      const start = performance.now();
      await call();
      latencies.push(performance.now() - start);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallMs = performance.now() - start;
  return {
    perSecond: total / (wallMs / 1000),
    medianMs: median(latencies),
    p99Ms: percentile(latencies, 99),
  };
}

async function unaryRows(store: Store): Promise<string[][]> {
  const rows: string[][] = [];
  const checkAda = (user: unknown): void => {
    if ((user as User).name !== "Ada Lovelace")
      throw new Error(`user 123 came back as ${JSON.stringify(user)}`);
  };

  const grpcServer = await startGrpc(store);
  const client = createUserClient(`127.0.0.1:${grpcServer.port}`);
  try {
    const call = async (): Promise<void> => checkAda(await getUserByGrpc(client));
    await load(call, 300); // warm up: the connection, and V8
    const measured = await load(call, UNARY_CALLS);
    const bytes = await bytesPerCall(grpcServer.port, async (port) => {
      const metered = createUserClient(`127.0.0.1:${port}`);
      try {
        for (let i = 0; i < 100; i++) checkAda(await getUserByGrpc(metered));
      } finally {
        metered.close();
      }
    });
    rows.push(unaryRow("gRPC GetUser, one HTTP/2 connection", measured, bytes));
  } finally {
    client.close();
    grpcServer.server.forceShutdown();
  }

  const rest = createRestServer({ store });
  const port = await startHttp(rest);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const call = async (): Promise<void> =>
      checkAda(await getJson(`http://127.0.0.1:${port}/users/123`, agent));
    await load(call, 300);
    const measured = await load(call, UNARY_CALLS);
    const bytes = await bytesPerCall(port, async (relayPort) => {
      const one = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 100; i++)
          checkAda(await getJson(`http://127.0.0.1:${relayPort}/users/123`, one));
      } finally {
        one.destroy();
      }
    });
    rows.push(
      unaryRow(`REST GET /users/123, ${CONCURRENCY} keep-alive connections`, measured, bytes),
    );
  } finally {
    agent.destroy();
    rest.closeAllConnections();
    rest.close();
  }
  return rows;
}

/** Bytes on the wire per call, both ways, over 100 calls in turn through a metered relay. */
async function bytesPerCall(
  port: number,
  calls: (relayPort: number) => Promise<void>,
): Promise<number> {
  const metered = await startMetered(relayTo(port));
  try {
    await calls(Number(new URL(metered.origin).port));
    const count = metered.read();
    return (count.bytesIn + count.bytesOut) / 100;
  } finally {
    await metered.close();
  }
}

function unaryRow(name: string, l: Load, bytes: number): string[] {
  return [name, number(l.perSecond), l.medianMs.toFixed(2), l.p99Ms.toFixed(2), number(bytes)];
}

// ---------------------------------------------------------------------------------------------
// 10,000 users: a stream against a download
// ---------------------------------------------------------------------------------------------

interface Transfer {
  name: string;
  wallMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** Runs `fetchAll` three times through a metered relay: the median time, the bytes of one run. */
async function transfer(
  name: string,
  port: number,
  fetchAll: (relayPort: number) => Promise<number>,
): Promise<Transfer> {
  const metered: Metered = await startMetered(relayTo(port));
  const relayPort = Number(new URL(metered.origin).port);
  try {
    const times: number[] = [];
    let last = metered.read();
    let bytes = last;
    for (let run = 0; run < 3; run++) {
      const start = performance.now();
      const got = await fetchAll(relayPort);
      times.push(performance.now() - start);
      if (got !== USERS) throw new Error(`${name}: ${got} users came, not ${USERS}`);
      const now = metered.read();
      bytes = since(now, last);
      last = now;
    }
    return { name, wallMs: median(times), bytesIn: bytes.bytesIn, bytesOut: bytes.bytesOut };
  } finally {
    await metered.close();
  }
}

async function streamRows(store: Store): Promise<Transfer[]> {
  const rows: Transfer[] = [];

  const grpcServer = await startGrpc(store);
  try {
    rows.push(
      await transfer(
        "gRPC ListUsers, a stream of 10,000 messages",
        grpcServer.port,
        async (port) => {
          const client = createUserClient(`127.0.0.1:${port}`);
          try {
            return await new Promise<number>((resolve, reject) => {
              let count = 0;
              const call = client.ListUsers({ limit: 0 });
              call.on("data", () => count++);
              call.on("error", reject);
              call.on("end", () => resolve(count));
            });
          } finally {
            client.close();
          }
        },
      ),
    );
  } finally {
    grpcServer.server.forceShutdown();
  }

  // One JSON document of every user: what a REST API without paging would send.
  const all = http.createServer((_req, res) => {
    const body = JSON.stringify(store.listUsers({ limit: USERS }));
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  const allPort = await startHttp(all);
  try {
    rows.push(
      await transfer("JSON, one document of 10,000 users", allPort, async (port) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          return ((await getJson(`http://127.0.0.1:${port}/users`, agent)) as User[]).length;
        } finally {
          agent.destroy();
        }
      }),
    );
  } finally {
    all.closeAllConnections();
    all.close();
  }

  const rest = createRestServer({ store });
  const restPort = await startHttp(rest);
  try {
    rows.push(
      await transfer("REST, lesson 08's 100 pages of 100, in turn", restPort, async (port) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          let count = 0;
          let next: string | null = null;
          do {
            const query: string = next === null ? "" : `&cursor=${encodeURIComponent(next)}`;
            const page = (await getJson(
              `http://127.0.0.1:${port}/users?limit=100${query}`,
              agent,
            )) as {
              data: User[];
              next: string | null;
            };
            count += page.data.length;
            next = page.next;
          } while (next !== null);
          return count;
        } finally {
          agent.destroy();
        }
      }),
    );
  } finally {
    rest.closeAllConnections();
    rest.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

const cpus = os.cpus();
console.log(
  "lesson-10 bench: protobuf against JSON, a gRPC call against lesson 08's REST (its reference, the " +
    "baseline),\nand 10,000 users as a gRPC stream against JSON; every server in this process on 127.0.0.1",
);
console.log(`Node ${process.version}, ${cpus[0]?.model ?? "unknown CPU"} (${cpus.length} cores)\n`);

const store = seededStore(USERS);

console.log(
  `The codec: the same users encoded and decoded, median of ${SAMPLES} timings (µs per message)\n`,
);
printTable(
  ["message, format", "bytes", "encode µs", "decode µs", "encode vs JSON", "decode vs JSON"],
  await codecRows(store),
);
console.log(
  "\nJSON's times include the UTF-8 conversion to and from bytes, which the wire needs. Each row's " +
    "decoded users were checked\nagainst the ones encoded.\n",
);

console.log(
  `One user by id, ${number(UNARY_CALLS)} calls, ${CONCURRENCY} in flight at any time (after 300 to warm up)\n`,
);
printTable(["call", "calls/s", "median ms", "p99 ms", "bytes per call"], await unaryRows(store));
console.log(
  "\nbytes per call: both ways, heads and bodies (HTTP/2 frames for gRPC), measured over 100 calls in turn " +
    "on one connection;\nTCP/IP headers are not counted.\n",
);

console.log(`All ${number(USERS)} users, median of 3 runs, each on a new connection\n`);
const transfers = await streamRows(store);
printTable(
  ["transfer", "ms", "bytes sent", "bytes received", "on the wire"],
  transfers.map((t) => [
    t.name,
    number(t.wallMs),
    number(t.bytesIn),
    number(t.bytesOut),
    number(t.bytesIn + t.bytesOut),
  ]),
);
console.log(
  "\nbytes are counted at a relay between client and server: sent = the client's, received = the server's. " +
    "Every row got\nall 10,000 users (checked).",
);
