/**
 * Outside programs the course runs beside its own code, started and stopped here: a free port to
 * give one, its output kept for an error message, and a real redis-server (lesson 02's benchmark
 * puts it beside the lesson's server; lesson 13 runs its cluster on one).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const found = new Map<string, boolean>();

/** Whether a command-line tool is on the PATH. */
export function hasTool(tool: string): boolean {
  let present = found.get(tool);
  if (present === undefined) {
    present = spawnSync(tool, ["--version"], { stdio: "ignore" }).error === undefined;
    found.set(tool, present);
  }
  return present;
}

/** A port no one is listening on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/** Output a child printed, kept for the error message when it fails. */
export function collect(child: ChildProcess): () => string {
  let log = "";
  const add = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => log;
}

export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

export interface RedisProcess {
  /** `redis://127.0.0.1:<port>`, for ioredis. */
  readonly url: string;
  readonly port: number;
  /** Whether it is running now. */
  readonly running: boolean;
  /** Ends it (SIGKILL: no goodbye to its clients). Its data is gone: it has no persistence. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Ends it and removes its folder. */
  stop(): Promise<void>;
}

/** A real redis-server on a free port, no persistence, in a fresh temporary folder. */
export async function startRedis(): Promise<RedisProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "course-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    const log = collect(started);
    await new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (/ready to accept connections/i.test(log())) {
          started.stdout?.off("data", onData);
          resolve();
        }
      };
      started.stdout?.on("data", onData);
      started.once("error", reject);
      started.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${log()}`)));
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: async () => {
      if (child) await stopChild(child, "SIGKILL");
    },
    start,
    async stop() {
      if (child) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
