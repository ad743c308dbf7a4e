/**
 * The server's memory per open client: a row's server alone in a process of its own (so that no
 * client, and no other row, is counted with it), then `clients` clients held open against it.
 *
 *   bench ── fork ──▶ memory.ts --server <kind> <row>     starts the row's server, says its port
 *     opens N clients (a request row: connected, one operation done; a push row: subscribed)
 *     asks "measure" before and after ──▶ the child runs gc() twice, answers heapUsed + external
 *
 * (heapUsed + external) is what the JavaScript heap and the Buffers outside it hold; the kernel's
 * socket buffers are not in it, nor is what the allocator keeps but does not use (rss shows that,
 * and is noisier). The figure is (after - before) / N: what one more open client costs the server.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pushTransports } from "./push.ts";
import { requestTransports } from "./request.ts";
import type { PushTransport, RequestTransport, RunningServer } from "./transport.ts";

type Kind = "request" | "push";
type FromChild = { type: "listening"; port: number } | { type: "memory"; bytes: number };

function findRow(kind: "request", name: string): RequestTransport;
function findRow(kind: "push", name: string): PushTransport;
function findRow(kind: Kind, name: string): RequestTransport | PushTransport;
function findRow(kind: Kind, name: string): RequestTransport | PushTransport {
  const rows: readonly (RequestTransport | PushTransport)[] =
    kind === "request" ? requestTransports : pushTransports;
  const row = rows.find((r) => r.name === name);
  if (!row) throw new Error(`No ${kind} row named ${JSON.stringify(name)}`);
  return row;
}

/** Bytes of server memory per open client of row `name`, with `clients` clients open. */
export async function memoryPerClient(kind: Kind, name: string, clients: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ["--server", kind, name], {
    execArgv: [...process.execArgv, "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = () =>
    new Promise<FromChild>((resolve, reject) => {
      child.once("message", (message: FromChild) => resolve(message));
      child.once("exit", (code) =>
        reject(new Error(`the ${name} server process exited (${code})`)),
      );
    });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const started = await next();
    if (started.type !== "listening") throw new Error("the server process did not start");
    const measureNow = async () => {
      child.send("measure");
      const answer = await next();
      return answer.type === "memory" ? answer.bytes : Number.NaN;
    };
    const before = await measureNow();
    for (let i = 0; i < clients; i++) {
      if (kind === "request") {
        const session = await findRow("request", name).connect(started.port);
        await session.operation();
        opened.push(session);
      } else {
        opened.push(await findRow("push", name).subscribe(started.port, () => {}));
      }
    }
    const after = await measureNow();
    return (after - before) / clients;
  } finally {
    for (const client of opened) await client.close();
    child.kill();
  }
}

/** In the child: start the row's server, then answer each "measure" with the heap in use. */
async function serve(kind: Kind, name: string): Promise<void> {
  const server: RunningServer = await findRow(kind, name).start();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on("message", (message) => {
    if (message !== "measure") return;
    // Twice: the first collection can leave objects whose finalizers free more on the second.
    gc?.();
    gc?.();
    const { heapUsed, external } = process.memoryUsage();
    process.send?.({ type: "memory", bytes: heapUsed + external } satisfies FromChild);
  });
  process.on("disconnect", () => void server.close().finally(() => process.exit(0)));
  process.send?.({ type: "listening", port: server.port } satisfies FromChild);
}

if (process.argv[2] === "--server") await serve(process.argv[3] as Kind, process.argv[4] as string);
