/**
 * The processes lesson 13's tests run the cluster on, each a real one started here and stopped
 * after: redis-server, HAProxy, and the lesson's own instances (exercises/lesson-13-scaling/
 * instance.ts starts those, so that each is a process that can be killed).
 *
 *   clients ──► HAProxy :frontend ──► instance a :port ─┐
 *                                 ├─► instance b :port ─┼──► redis-server :port
 *                                 └─► instance c :port ─┘
 *
 * Ports are picked free by the OS (a listen on port 0, closed again) and then given to the
 * process: redis-server and HAProxy read theirs from their command line and config.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { collect, stopChild } from "#shared/processes.ts";
import { hasTool, isCI } from "#shared/testing/tools.ts";
import { describe } from "vitest";

export { freePort, startRedis, type RedisProcess } from "#shared/processes.ts";

/** Resolves once something accepts a TCP connection on `port`, trying every 20 ms until `ms`. */
export async function waitForPort(port: number, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline)
      throw new Error(`${what} is not accepting connections on port ${port} after ${ms} ms`);
    // Polling a port has no event to wait on: a short pause between tries, bounded above.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface HaproxyProcess {
  /** The port it listens on for clients (the config's frontend). */
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** What it has printed, for a failure message. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * HAProxy run in the foreground with `config` (the text of a haproxy.cfg), which must listen on
 * `port`. Resolves once that port accepts connections; fails with HAProxy's own words if the
 * config is refused.
 */
export async function startHaproxy(config: string, port: number): Promise<HaproxyProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lesson-13-haproxy-"));
  const file = path.join(dir, "haproxy.cfg");
  writeFileSync(file, config);
  // -db: stay in the foreground, log to stderr; -W: master-worker, so SIGTERM stops it all.
  const child = spawn(haproxyCommand() ?? "haproxy", ["-db", "-W", "-f", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = collect(child);
  const exited = new Promise<never>((_resolve, reject) => {
    child.once("exit", (code) =>
      reject(
        new Error(`haproxy exited (${code}) with this config:\n${config}\nIt said:\n${log()}`),
      ),
    );
    child.once("error", (error) => reject(new Error(`haproxy did not start: ${error.message}`)));
  });
  exited.catch(() => {});
  try {
    await Promise.race([waitForPort(port, "HAProxy"), exited]);
  } catch (error) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    log,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Where haproxy is: on the PATH, or where Debian and Homebrew put it. Debian installs it in
 * /usr/sbin, which is not on an ordinary user's PATH. Undefined if it is nowhere.
 */
export function haproxyCommand(): string | undefined {
  return [
    "haproxy",
    "/usr/sbin/haproxy",
    "/usr/local/sbin/haproxy",
    "/opt/homebrew/bin/haproxy",
  ].find((command) => spawnSync(command, ["-v"], { stdio: "ignore" }).error === undefined);
}

/** Whether the outside programs the cluster runs on are here (under CI they must be). */
const INSTALL =
  "install redis-server and haproxy (Debian and Ubuntu: apt-get install redis-server haproxy; macOS: brew install redis haproxy)";

/**
 * `describe` for tests that run the cluster: skipped outside CI when redis-server or haproxy is
 * missing, with a name that says what to install; under CI they run, and fail without them.
 */
export function describeCluster(
  tools: readonly string[] = ["redis-server", "haproxy"],
): typeof describe {
  const missing = tools.filter((tool) =>
    tool === "haproxy" ? haproxyCommand() === undefined : !hasTool(tool),
  );
  if (missing.length === 0 || isCI) return describe;
  return ((name: string, ...rest: unknown[]) =>
    (describe.skip as (...args: unknown[]) => void)(
      `${name} (skipped: ${missing.join(" and ")} not found; ${INSTALL})`,
      ...rest,
    )) as typeof describe;
}
