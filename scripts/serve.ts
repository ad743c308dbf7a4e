// npm run serve -- <lesson> [--solution] [--port N] [--trace]
//
// Starts a lesson's server on 127.0.0.1, prints its address and commands to try, and runs until
// Ctrl-C or SIGTERM. With --trace, a proxy in front of it prints the bytes on the wire.
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";
import { createTraceProxy } from "./lib/trace.ts";

const HOST = "127.0.0.1";
const args = parseArgs(process.argv.slice(2), ["port"]);
const lesson = findLesson(args.positional[0]);
const tree = args.flags.has("solution") ? "solutions" : "exercises";
const trace = args.flags.has("trace");

if (!lesson.server) {
  console.log(`${lesson.name} has no server to start: its tests drive the code directly.`);
  console.log(`Run them with: npm test -- ${lesson.name.slice(0, "lesson-NN".length)}`);
  process.exit(0);
}

const port = args.values.has("port") ? Number(args.values.get("port")) : lesson.server.defaultPort;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid port: ${JSON.stringify(args.values.get("port"))}`);
  process.exit(2);
}

const file = path.join(ROOT, tree, lesson.name, lesson.server.module);
const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
const factory = exports[lesson.server.export];
if (typeof factory !== "function") {
  console.error(
    `${path.relative(ROOT, file)} does not export a function named ${lesson.server.export}.`,
  );
  process.exit(1);
}

let server: net.Server;
try {
  server = (factory as () => net.Server)();
} catch (err) {
  const where =
    tree === "exercises" ? "Your server is not ready yet" : "The reference server failed";
  console.error(`${where}: ${(err as Error).message}`);
  if (tree === "exercises")
    console.error(
      `To see the reference instead: npm run serve -- lesson-${lesson.number} --solution`,
    );
  process.exit(1);
}

// Every connection either server accepts, so that shutting down can end them.
const sockets = new Set<net.Socket>();
function track(s: net.Server): void {
  s.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
}

async function start(s: net.Server, p: number): Promise<net.AddressInfo> {
  track(s);
  s.listen(p, HOST);
  try {
    await once(s, "listening");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(
      code === "EADDRINUSE"
        ? `Port ${p} is already in use: pick another with --port N.`
        : `Cannot listen on ${HOST}:${p}: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  return s.address() as net.AddressInfo;
}

const servers = [server];
let address: net.AddressInfo;
if (trace) {
  const inner = await start(server, 0);
  const proxy = createTraceProxy(inner);
  servers.push(proxy);
  address = await start(proxy, port);
} else {
  address = await start(server, port);
}

const source = tree === "solutions" ? "reference solution" : "your exercise";
console.log(
  `${lesson.name} (${source}) listening on ${address.address}:${address.port}${trace ? ", tracing every byte" : ""}`,
);
console.log("\nTry it from another terminal:");
for (const line of lesson.server.try)
  console.log(`  ${line.replaceAll("{port}", String(address.port))}`);
console.log("\nCtrl-C stops it.\n");

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(
    `\n${signal}: closing ${sockets.size} open connection${sockets.size === 1 ? "" : "s"} and stopping.`,
  );
  for (const s of servers) s.close();
  for (const socket of sockets) socket.destroy();
  // A lesson's server may keep a timer of its own (an expiry sweep, say); the process is done.
  process.exit(0);
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
