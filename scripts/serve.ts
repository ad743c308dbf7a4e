// npm run serve -- <lesson> [server] [--solution] [--port N] [--trace]
//
// Starts a lesson's server on 127.0.0.1, prints its address and commands to try, and runs until
// Ctrl-C or SIGTERM. With --trace, a proxy in front of it prints the bytes on the wire (WebSocket
// frames, event-stream events and HTTP/2 frames decoded). A lesson's server is a net.Server (an
// http.Server, an http2 server, ...) or a grpc-js Server, which binds its own port.
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";
import { createTraceProxy } from "./lib/trace.ts";

const HOST = "127.0.0.1";
const args = parseArgs(process.argv.slice(2), {
  usage: "npm run serve -- <lesson> [server] [--solution] [--port N] [--trace]",
  flags: ["solution", "trace"],
  values: ["port"],
});
const lesson = findLesson(args.positional[0]);
const tree = args.flags.has("solution") ? "solutions" : "exercises";
const trace = args.flags.has("trace");

// The lesson's server, or another of its servers by name (lesson.json's "servers").
const serverName = args.positional[1];
const others = Object.keys(lesson.servers ?? {});
if (serverName !== undefined && !others.includes(serverName)) {
  console.error(
    others.length === 0
      ? `${lesson.name} has one server: npm run serve -- lesson-${lesson.number}`
      : `${lesson.name} has no server named ${JSON.stringify(serverName)}; its others: ${others.join(", ")}`,
  );
  process.exit(2);
}
const spec = serverName === undefined ? lesson.server : lesson.servers?.[serverName];
if (!spec) {
  console.log(`${lesson.name} has no server to start: its tests drive the code directly.`);
  console.log(`Run them with: npm test -- lesson-${lesson.number}`);
  process.exit(0);
}

const port = args.values.has("port") ? Number(args.values.get("port")) : spec.defaultPort;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid port: ${JSON.stringify(args.values.get("port"))}`);
  process.exit(2);
}

// Load the lesson's server. A syntax error or an unwritten stub is the learner's next step, not
// a crash: say what it is in a line or two.
const file = path.join(ROOT, tree, lesson.name, spec.module);
const whose = tree === "exercises" ? "Your server" : "The reference server";
let server: net.Server | GrpcServer;
try {
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const factory = exports[spec.export];
  if (typeof factory !== "function") {
    throw new Error(`${path.relative(ROOT, file)} has no exported function ${spec.export}`);
  }
  server = (factory as () => net.Server | GrpcServer)();
} catch (err) {
  console.error(`${whose} cannot start yet: ${(err as Error).message}`);
  if (tree === "exercises") {
    console.error(
      `To see the reference instead: npm run serve -- lesson-${lesson.number}${serverName === undefined ? "" : ` ${serverName}`} --solution`,
    );
  }
  process.exit(1);
}

/** The part of @grpc/grpc-js's Server used here: it listens through bindAsync, not listen(). */
interface GrpcServer {
  bindAsync(
    address: string,
    credentials: unknown,
    callback: (error: Error | null, port: number) => void,
  ): void;
  tryShutdown(callback: (error?: Error) => void): void;
  forceShutdown(): void;
}

function isGrpcServer(s: unknown): s is GrpcServer {
  return typeof (s as { bindAsync?: unknown } | null)?.bindAsync === "function";
}

/** A grpc-js server bound to HOST:p without TLS; its address, or the process ends saying why. */
async function bindGrpc(s: GrpcServer, p: number): Promise<net.AddressInfo> {
  const grpc = await import("@grpc/grpc-js");
  const bound = await new Promise<number | Error>((resolve) => {
    s.bindAsync(`${HOST}:${p}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      resolve(error ?? boundPort),
    );
  });
  if (bound instanceof Error) {
    if (/EADDRINUSE|address already in use/i.test(bound.message)) {
      console.error(`Port ${p} is already in use: is an earlier \`npm run serve\` still running?`);
      console.error("Stop it with Ctrl-C in its terminal, or pick another port with --port N.");
    } else {
      console.error(`Cannot bind ${HOST}:${p}: ${bound.message}`);
    }
    process.exit(1);
  }
  return { address: HOST, family: "IPv4", port: bound };
}

// The connections clients opened: the ones Ctrl-C has to end.
const sockets = new Set<net.Socket>();
function trackConnections(s: net.Server): void {
  s.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
}

async function start(s: net.Server, p: number): Promise<net.AddressInfo> {
  s.listen(p, HOST);
  try {
    await once(s, "listening");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      console.error(`Port ${p} is already in use: is an earlier \`npm run serve\` still running?`);
      console.error("Stop it with Ctrl-C in its terminal, or pick another port with --port N.");
    } else {
      console.error(`Cannot listen on ${HOST}:${p}: ${(err as Error).message}`);
    }
    process.exit(1);
  }
  return s.address() as net.AddressInfo;
}

// With --trace, clients connect to the proxy, and the proxy to the lesson's server on a port of
// its own; without it, clients connect to the lesson's server directly.
const servers: net.Server[] = [];
let address: net.AddressInfo;
if (isGrpcServer(server)) {
  if (trace) {
    const proxy = createTraceProxy(await bindGrpc(server, 0));
    servers.push(proxy);
    trackConnections(proxy);
    address = await start(proxy, port);
  } else {
    address = await bindGrpc(server, port);
  }
} else {
  servers.push(server);
  if (trace) {
    const proxy = createTraceProxy(await start(server, 0));
    servers.push(proxy);
    trackConnections(proxy);
    address = await start(proxy, port);
  } else {
    trackConnections(server);
    address = await start(server, port);
  }
}

const source = tree === "solutions" ? "reference solution" : "your code";
console.log(`${lesson.name} (${source}) listening on ${address.address}:${address.port}`);
if (trace) {
  console.log("Tracing every byte: each connection is numbered, → is client to server.");
  console.log(
    "After a 101 each WebSocket frame is shown decoded; an event stream, event by event;",
  );
  console.log("HTTP/2 frame by frame, headers decoded, gRPC messages inside DATA in hex.");
}
console.log("\nTry it from another terminal:");
for (const line of spec.try) console.log(`  ${line.replaceAll("{port}", String(address.port))}`);
// nc is not on every machine (and `nc -q1` is Debian's): the course's own raw client is.
const usesNc = spec.try.some((line) => /(^|\|\s*)nc\s/.test(line));
const usesRaw = spec.try.some((line) => line.includes("npm run raw"));
if (usesNc && !usesRaw) {
  console.log(
    `  npm run raw -- ${address.port}   (without nc: type a line, Enter sends it with CRLF)`,
  );
}
const killHint = process.platform === "win32" ? "" : ` (or: kill -INT ${process.pid})`;
console.log(`\nCtrl-C stops it${killHint}.\n`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const open = [...sockets];
  console.log(
    `\n${signal}: closing ${open.length} open connection${open.length === 1 ? "" : "s"} and stopping.`,
  );
  for (const s of servers) s.close();
  const closed = open.map((socket) => once(socket, "close"));
  for (const socket of open) socket.destroy();
  await Promise.all(closed);
  if (isGrpcServer(server)) await shutdownGrpc(server);
  // A lesson's server may keep a timer of its own (an expiry sweep, say); the process is done.
  process.exit(0);
}
/** Calls in flight may finish for a moment; then whatever is left is cancelled. */
const GRPC_GRACE_MS = 2_000;

async function shutdownGrpc(s: GrpcServer): Promise<void> {
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      console.log(`Calls still open after ${GRPC_GRACE_MS} ms: cancelling them.`);
      s.forceShutdown();
      resolve();
    }, GRPC_GRACE_MS);
    s.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
