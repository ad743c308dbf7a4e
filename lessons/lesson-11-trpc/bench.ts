/**
 * Two measurements of the tRPC server and client, from one run (the README's "Measure it"):
 *
 *   batching   10 getUser queries in one tick, through httpBatchLink (one request) and through
 *              httpLink (ten): HTTP requests and connections counted at the server, and the
 *              time from the first call to the last answer, over many rounds
 *   one call   user 123 as tRPC (a query by GET), lesson 08's REST (GET /users/123) and lesson
 *              09's GraphQL ({ user(id: "123") { id name email } } by POST): the bytes on the wire
 *
 *   npm run bench -- lesson-11              (the tRPC rows run your server.ts and client.ts)
 *   npm run bench -- lesson-11 --solution   (they run the reference)
 *
 * The REST and GraphQL rows run those lessons' references. Every row has a server of its own on
 * 127.0.0.1, counted at its sockets (shared/bench/wire.ts); the REST and GraphQL calls go out with
 * fetch, which is what tRPC's client sends its requests with, so the three carry the same headers
 * of fetch's own.
 */
import http from "node:http";
import { createApp } from "#reference/lesson-08-rest/app.ts";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import { createServer as createGraphQLServer } from "#reference/lesson-09-graphql/server.ts";
import { createClient } from "#lesson/lesson-11-trpc/client.ts";
import { createServer } from "#lesson/lesson-11-trpc/server.ts";
import { printTable, since, startMetered, type WireCount } from "../../shared/bench/wire.ts";

const QUERIES = 10;
const ROUNDS = 200;
const WARMUP = 30;
const IDS = Array.from({ length: QUERIES }, (_, i) => String(101 + i));

const number = (n: number): string => n.toLocaleString("en");
const ms = (n: number): string => n.toFixed(2);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface BatchRow extends WireCount {
  link: string;
  median: number;
  p99: number;
  total: number;
}

async function batching(batch: boolean): Promise<BatchRow> {
  const metered = await startMetered(createServer({ store: createStore() }));
  try {
    const client = createClient(`${metered.origin}/trpc`, { batch });
    const round = async (): Promise<void> => {
      const users = await Promise.all(IDS.map((id) => client.user.getUser.query({ id })));
      if (users.some((u, i) => u.id !== IDS[i])) throw new Error("getUser answered another user");
    };
    for (let i = 0; i < WARMUP; i++) await round();
    const before = metered.read();
    const times: number[] = [];
    const start = performance.now();
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      await round();
      times.push(performance.now() - t);
    }
    const total = performance.now() - start;
    times.sort((a, b) => a - b);
    return {
      link: batch ? "httpBatchLink" : "httpLink",
      ...since(metered.read(), before),
      // The connections of the whole run: keep-alive opened them during the warm-up.
      connections: metered.read().connections,
      median: percentile(times, 50),
      p99: percentile(times, 99),
      total,
    };
  } finally {
    await metered.close();
  }
}

interface CallRow extends WireCount {
  api: string;
  request: string;
  body: string;
}

async function oneCall(
  api: string,
  request: string,
  server: http.Server,
  call: (origin: string) => Promise<unknown>,
): Promise<CallRow> {
  const metered = await startMetered(server);
  try {
    const body = JSON.stringify(await call(metered.origin));
    return { api, request, body, ...metered.read() };
  } finally {
    await metered.close();
  }
}

async function fetchJson(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

console.log(
  `lesson-11 bench: ${QUERIES} getUser queries in one tick, ${number(ROUNDS)} rounds after ${WARMUP} to warm up, ` +
    "each link with a server and a client of its own on 127.0.0.1",
);
console.log(`Node ${process.version}\n`);

const rows = [await batching(true), await batching(false)];
printTable(
  [
    "link",
    "HTTP requests",
    "per round",
    "connections",
    "bytes on the wire",
    "median round (ms)",
    "p99 (ms)",
    "total (ms)",
  ],
  rows.map((r) => [
    r.link,
    number(r.requests),
    number(r.requests / ROUNDS),
    number(r.connections),
    number(r.bytesIn + r.bytesOut),
    ms(r.median),
    ms(r.p99),
    number(Math.round(r.total)),
  ]),
);

const USER_QUERY = '{ user(id: "123") { id name email } }';
const calls = [
  await oneCall(
    "tRPC",
    "GET /trpc/user.getUser?input={...}",
    createServer({ store: createStore() }),
    (origin) => createClient(`${origin}/trpc`, { batch: false }).user.getUser.query({ id: "123" }),
  ),
  await oneCall(
    "tRPC, batched",
    "GET /trpc/user.getUser?batch=1&input=...",
    createServer({ store: createStore() }),
    (origin) => createClient(`${origin}/trpc`).user.getUser.query({ id: "123" }),
  ),
  await oneCall(
    "REST (lesson 08)",
    "GET /users/123",
    http.createServer(createApp({ store: createStore() })),
    (origin) => fetchJson(`${origin}/users/123`, { headers: { Accept: "application/json" } }),
  ),
  await oneCall(
    "GraphQL (lesson 09)",
    `POST /graphql ${USER_QUERY}`,
    createGraphQLServer({ store: createStore() }),
    async (origin) =>
      (
        (await fetchJson(`${origin}/graphql`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/graphql-response+json",
          },
          body: JSON.stringify({ query: USER_QUERY }),
        })) as { data: { user: unknown } }
      ).data.user,
  ),
];
console.log("");
printTable(
  ["one call for user 123", "request", "bytes sent", "bytes received", "on the wire"],
  calls.map((c) => [
    c.api,
    c.request,
    number(c.bytesIn),
    number(c.bytesOut),
    number(c.bytesIn + c.bytesOut),
  ]),
);
if (new Set(calls.map((c) => c.body)).size !== 1) {
  console.log("\nThe calls did not all get the same user: a server answered something else.");
  for (const c of calls) console.log(`  ${c.api}: ${c.body}`);
  process.exitCode = 1;
}
console.log(
  "\nbytes sent and received are the client's: sent = its request, received = the server's " +
    "response, heads and bodies,\nboth counted at the server's sockets; TCP/IP headers are not " +
    "counted. Every call got the same user (checked).\nTimes are this machine's, under its load: " +
    "compare the rows, not the numbers.",
);
