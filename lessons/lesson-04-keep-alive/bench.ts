/**
 * What persistent connections and pipelining are worth, and what Nagle's algorithm costs.
 *
 *   npm run bench -- lesson-04       (runs this file against the reference solution)
 *
 * Part 1: the same GET /profile/123, for about BENCH_MS each, in four ways:
 *   (a) a new connection per request (Connection: close), one at a time;
 *   (b) keep-alive: one connection, one request at a time;
 *   (c) keep-alive on 8 connections side by side;
 *   (d) pipelining: one connection, 10 requests per write, 10 responses awaited.
 * against this lesson's server and, side by side, a node:http server running the same handler.
 * One small load generator on node:net drives both: raw request bytes out, responses counted with
 * lesson 03's ResponseParser.
 *
 * Part 2: the same two servers under wrk (https://github.com/wg/wrk), a load generator in C that
 * is faster than either server: 50 keep-alive connections, then the same with 16 requests per
 * write (wrk/pipeline.lua). Both servers close a connection after 100 requests, this lesson's
 * default. Skipped, with a line that says how to install it, where wrk is not on the PATH.
 *
 * Part 3: Nagle's algorithm meets delayed ACKs. A POST written as two small writes (head, then
 * body) on a keep-alive connection, with Nagle on and off, and the same POST in one write.
 *
 * Everything listens on 127.0.0.1 port 0. The figures depend on the machine; nothing is asserted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ResponseParser, type ClientResponse } from "#reference/lesson-03-http/client.ts";
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";
import { createProfileApi } from "#reference/lesson-03-http/routes.ts";
import { createServer, DEFAULTS, type Handler } from "#lesson/lesson-04-keep-alive/server.ts";

const DURATION_MS = Number(process.env.BENCH_MS ?? 1_500);
/** Each closed connection leaves a TIME_WAIT entry behind for a minute: keep them few. */
const MAX_NEW_CONNECTIONS = 3_000;
/** The same per-connection limit on both servers. */
const MAX_REQUESTS_PER_CONNECTION = 1_000;
const PIPELINE_DEPTH = 10;
const PARALLEL = 8;

const GET = Buffer.from("GET /profile/123 HTTP/1.1\r\nHost: bench\r\n\r\n", "latin1");
const GET_CLOSE = Buffer.from(
  "GET /profile/123 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
  "latin1",
);

/** A connection of the load generator: writes raw bytes, resolves when whole responses are in. */
class LoadConnection {
  readonly socket: net.Socket;
  private readonly parser = new ResponseParser("GET");
  private expected = 0;
  private received: ClientResponse[] = [];
  private done: ((responses: ClientResponse[]) => void) | undefined;
  private fail: ((error: Error) => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.received.push(...this.parser.feed(chunk));
      if (this.done && this.received.length >= this.expected) this.settle();
    });
    socket.on("close", () => this.fail?.(new Error("the server closed mid-exchange")));
    socket.on("error", () => {});
  }

  static async open(port: number, noDelay = true): Promise<LoadConnection> {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay });
    await once(socket, "connect");
    return new LoadConnection(socket);
  }

  /** Writes each chunk (one write each), resolves once `count` responses have arrived. */
  exchange(chunks: Buffer[], count: number): Promise<ClientResponse[]> {
    this.expected = count;
    const result = new Promise<ClientResponse[]>((resolve, reject) => {
      this.done = resolve;
      this.fail = reject;
    });
    for (const chunk of chunks) this.socket.write(chunk);
    return result;
  }

  private settle(): void {
    const responses = this.received.splice(0, this.expected);
    const done = this.done;
    this.done = undefined;
    this.fail = undefined;
    done?.(responses);
  }
}

/** Whether the server will close after this response. */
function closes(response: ClientResponse | undefined): boolean {
  return response?.headers["connection"]?.toLowerCase() === "close";
}

interface Figures {
  requests: number;
  seconds: number;
  latencies: number[];
}

/** Runs `step` until the time is up; a step returns how many requests it completed. */
async function during(step: (latencies: number[]) => Promise<number>): Promise<Figures> {
  const latencies: number[] = [];
  const start = performance.now();
  let requests = 0;
  while (performance.now() - start < DURATION_MS) {
    const n = await step(latencies);
    if (n === 0) break;
    requests += n;
  }
  return { requests, seconds: (performance.now() - start) / 1000, latencies };
}

/** A keep-alive worker: reuses its connection, opens a new one when the server closes it. */
function keepAliveWorker(port: number, chunks: Buffer[], count: number, noDelay = true) {
  let connection: Promise<LoadConnection> | undefined;
  return async (latencies: number[]): Promise<number> => {
    connection ??= LoadConnection.open(port, noDelay);
    const conn = await connection;
    const t = performance.now();
    const responses = await conn.exchange(chunks, count);
    latencies.push(performance.now() - t);
    if (closes(responses.at(-1))) {
      conn.socket.destroy();
      connection = undefined;
    }
    return responses.length;
  };
}

const variants: { name: string; run: (port: number) => Promise<Figures> }[] = [
  {
    name: "new connection per request",
    run: (port) => {
      let opened = 0;
      return during(async (latencies) => {
        if (++opened > MAX_NEW_CONNECTIONS) return 0;
        const t = performance.now();
        const conn = await LoadConnection.open(port);
        const closed = once(conn.socket, "close");
        await conn.exchange([GET_CLOSE], 1);
        await closed;
        latencies.push(performance.now() - t);
        return 1;
      });
    },
  },
  {
    name: "keep-alive, 1 connection",
    run: (port) => during(keepAliveWorker(port, [GET], 1)),
  },
  {
    name: `keep-alive, ${PARALLEL} connections`,
    run: async (port) => {
      const all = await Promise.all(
        Array.from({ length: PARALLEL }, () => during(keepAliveWorker(port, [GET], 1))),
      );
      return {
        requests: all.reduce((sum, f) => sum + f.requests, 0),
        seconds: Math.max(...all.map((f) => f.seconds)),
        latencies: all.flatMap((f) => f.latencies),
      };
    },
  },
  {
    name: `pipelined, depth ${PIPELINE_DEPTH}`,
    run: (port) =>
      during(
        keepAliveWorker(port, [Buffer.concat(Array(PIPELINE_DEPTH).fill(GET))], PIPELINE_DEPTH),
      ),
  },
];

/** node:http with the same handler: the body read whole, the handler's response written back. */
function nodeHttpServer(
  handler: Handler,
  maxRequests: number = MAX_REQUESTS_PER_CONNECTION,
): http.Server {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: HttpRequest = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      version: req.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1",
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks),
    };
    const response = await handler(request);
    // Content-Length, as lesson 03's writer sends: without it node:http would chunk the body,
    // and the two servers would not send the same bytes.
    const body = Buffer.from(response.body ?? "");
    res.writeHead(response.status, { ...response.headers, "Content-Length": body.length });
    res.end(body);
  });
  server.maxRequestsPerSocket = maxRequests;
  return server;
}

/** Listens on port 0; counts connections; `stop()` closes the server and every connection. */
async function start(
  server: net.Server,
): Promise<{ port: number; connections: () => number; stop: () => Promise<void> }> {
  const open = new Set<net.Socket>();
  let connections = 0;
  server.on("connection", (socket: net.Socket) => {
    connections += 1;
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of open) socket.destroy();
    await closed;
  };
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, stop };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells
    .map((cell, i) =>
      typeof cell === "number"
        ? String(cell).padStart(widths[i] ?? 0)
        : cell.padEnd(widths[i] ?? 0),
    )
    .join("  ");
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${os.platform()} ${os.release()}`);
console.log(
  `Each variant runs ~${DURATION_MS} ms (BENCH_MS) of GET /profile/123 on 127.0.0.1, same load generator for both servers.`,
);
console.log(
  `Servers: this lesson's reference (node:net + lesson 03's parser) and node:http, same handler, ` +
    `both ${MAX_REQUESTS_PER_CONNECTION} requests per connection at most.\n`,
);

const widths = [30, 14, 10, 12, 12];
console.log(row(["variant", "server", "req/s", "connections", "median ms"], widths));
for (const variant of variants) {
  for (const [name, make] of [
    ["lesson 04", () => createServer({ maxRequestsPerConnection: MAX_REQUESTS_PER_CONNECTION })],
    ["node:http", () => nodeHttpServer(createProfileApi())],
  ] as const) {
    const server = make();
    const { port, connections, stop } = await start(server);
    const figures = await variant.run(port);
    console.log(
      row(
        [
          variant.name,
          name,
          Math.round(figures.requests / figures.seconds),
          connections(),
          median(figures.latencies).toFixed(3),
        ],
        widths,
      ),
    );
    await stop();
  }
}

// Part 2. wrk drives both servers harder than the load generator above can: it is written in C,
// and its own time per request is small next to a server's.
const WRK_SECONDS = Math.max(1, Math.round(DURATION_MS / 500));
const PIPELINE_LUA = fileURLToPath(new URL("./wrk/pipeline.lua", import.meta.url));
const WRK_DEPTH = 16;

/**
 * Runs wrk against the URL; its Requests/sec, or undefined when wrk is not installed. `options`
 * go before the URL; `scriptArgs` after it and `--`, where wrk hands them to the Lua script.
 */
async function wrk(
  url: string,
  options: string[],
  scriptArgs: string[],
): Promise<number | undefined> {
  // An argument list, no shell: the same on every OS. Where wrk is missing (Windows, a fresh
  // Mac), spawn() emits "error" with ENOENT, and the rows are skipped.
  const child = spawn(
    "wrk",
    ["-t1", "-c50", `-d${WRK_SECONDS}s`, ...options, url, "--", ...scriptArgs],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text: string) => (output += text));
  const missing = once(child, "error").then(([error]) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  const exited = once(child, "close").then(() => {
    const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
    if (rate === undefined) throw new Error(`wrk printed no Requests/sec:\n${output}`);
    return Number(rate);
  });
  return Promise.race([missing, exited]);
}

console.log(
  `\nUnder wrk: -t1 -c50 -d${WRK_SECONDS}s, GET /profile/123, ` +
    `${DEFAULTS.maxRequestsPerConnection} requests per connection on both servers\n`,
);
const wrkWidths = [30, 14, 10, 10];
const wrkModes = [
  { name: "keep-alive, 50 connections", options: [], scriptArgs: [] },
  {
    name: `pipelined, depth ${WRK_DEPTH}`,
    options: ["-s", PIPELINE_LUA],
    scriptArgs: [String(WRK_DEPTH)],
  },
];
let wrkMissing = false;
for (const mode of wrkModes) {
  if (wrkMissing) break;
  const rates: number[] = [];
  for (const [name, make] of [
    ["lesson 04", () => createServer()],
    ["node:http", () => nodeHttpServer(createProfileApi(), DEFAULTS.maxRequestsPerConnection)],
  ] as const) {
    const { port, stop } = await start(make());
    const rate = await wrk(`http://127.0.0.1:${port}/profile/123`, mode.options, mode.scriptArgs);
    await stop();
    if (rate === undefined) {
      console.log(
        "wrk is not installed, so the wrk rows are skipped: apt-get install wrk (Debian, " +
          "Ubuntu), brew install wrk (macOS), or build it from https://github.com/wg/wrk",
      );
      wrkMissing = true;
      break;
    }
    rates.push(rate);
    if (mode === wrkModes[0] && rates.length === 1) {
      console.log(row(["mode", "server", "req/s", "lesson 04 / node:http"], wrkWidths));
    }
    const ratio = rates.length === 2 ? `${((rates[0] ?? 0) / rate).toFixed(2)}` : "";
    console.log(row([mode.name, name, Math.round(rate), ratio], wrkWidths));
  }
}

// Part 3. With Nagle on, the body (a small segment) waits until the head is acknowledged. The
// server has nothing to send before the body arrives, so its ACK is a delayed one (up to ~40 ms
// on Linux). The "median ms" column is per request (for the pipelined row above, per batch).
console.log("\nNagle's algorithm and delayed ACKs: POST /profile, keep-alive, one at a time\n");
const body = Buffer.from('{"name":"Nagle"}');
const head = Buffer.from(
  `POST /profile HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  "latin1",
);
const nagleWidths = [44, 10, 12];
console.log(row(["client writes", "req/s", "median ms"], nagleWidths));
for (const [name, noDelay, chunks] of [
  ["head, then body: 2 writes, Nagle on", false, [head, body]],
  ["head, then body: 2 writes, TCP_NODELAY", true, [head, body]],
  ["head and body in 1 write, Nagle on", false, [Buffer.concat([head, body])]],
] as const) {
  const server = createServer();
  const { port, stop } = await start(server);
  const figures = await during(keepAliveWorker(port, [...chunks], 1, noDelay));
  console.log(
    row(
      [name, Math.round(figures.requests / figures.seconds), median(figures.latencies).toFixed(3)],
      nagleWidths,
    ),
  );
  await stop();
}
