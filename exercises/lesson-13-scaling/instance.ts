/**
 * One instance as a process of its own, so that it can die as a real server does: the tests kill
 * one with SIGKILL (no goodbye to its clients, to Redis or to HAProxy), or stop it with SIGSTOP to
 * play a slow one.
 *
 *   spawnInstance({ name: "a", redisUrl, port })   in the test: forks this file
 *     └─ node --import tsx instance.ts --instance '{"name":"a",...}'
 *          createInstance() (server.ts), listen on 127.0.0.1:port, then tell the parent
 *
 * The child runs the same tree as the test that started it (exercises/, solutions/, or the copy
 * `npm run check` makes), because it is this very file. Given code: nothing to write here.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { InstanceOptions } from "./server.ts";

export interface InstanceProcess {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the instance itself, not through HAProxy. */
  readonly origin: string;
  readonly pid: number;
  /** Whether the process is alive. */
  readonly running: boolean;
  /** SIGKILL: the process ends at once, as a crashed machine's would. */
  kill(): Promise<void>;
  /** SIGSTOP: the process stops reading, writing and answering, its sockets left open. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** A clean stop: SIGTERM, which closes its clients and Redis connections first. */
  stop(): Promise<void>;
  /** What it printed: for a failure message. */
  log(): string;
}

/** What the child sends once: its port, or why it could not start. */
type Started =
  | { type: "listening"; port: number }
  | { type: "failed"; message: string; code?: string; fn?: string; step?: string };

const FLAG = "--instance";
/** An instance that has not said it is listening by then is reported, not waited for. */
const START_MS = 10_000;

/** Forks one instance and resolves once it listens; rejects with the child's own error if not. */
export async function spawnInstance(
  options: InstanceOptions & { port: number },
): Promise<InstanceProcess> {
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    [FLAG, JSON.stringify(options)],
    {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const started = await new Promise<Started>((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          type: "failed",
          message: `instance ${options.name} did not start within ${START_MS} ms`,
        }),
      START_MS,
    );
    child.once("message", (message: Started) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({
        type: "failed",
        message: `instance ${options.name} exited (${code ?? signal}):\n${output}`,
      });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const end = async (signal: NodeJS.Signals) => {
    if (!running()) return;
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  };
  if (started.type === "failed") {
    await end("SIGKILL");
    // A stub's error, passed on as it was thrown: it names the function and the README step.
    throw Object.assign(new Error(started.message), {
      code: started.code,
      fn: started.fn,
      step: started.step,
    });
  }
  child.disconnect();
  return {
    name: options.name,
    port: started.port,
    origin: `http://127.0.0.1:${started.port}`,
    pid: child.pid as number,
    get running() {
      return running();
    },
    kill: () => end("SIGKILL"),
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async stop() {
      // A paused process cannot act on SIGTERM until it runs again.
      if (running()) child.kill("SIGCONT");
      await end("SIGTERM");
    },
    log: () => output,
  };
}

/** In the child: start the instance, say where it listens, and close it cleanly on SIGTERM. */
async function main(options: InstanceOptions & { port: number }): Promise<void> {
  const send = (message: Started) => process.send?.(message);
  try {
    const { createInstance } = await import("./server.ts");
    const server = createInstance(options);
    server.listen(options.port, "127.0.0.1");
    await once(server, "listening");
    process.once("SIGTERM", () => {
      void server.shutdown().finally(() => process.exit(0));
    });
    send({ type: "listening", port: options.port });
  } catch (error) {
    const e = error as { message?: string; code?: string; fn?: string; step?: string };
    send({
      type: "failed",
      message: String(e?.message ?? error),
      code: e?.code,
      fn: e?.fn,
      step: e?.step,
    });
    process.exit(1);
  }
}

if (process.argv[2] === FLAG) await main(JSON.parse(process.argv[3] as string));
