/**
 * Test helpers for the scripts in python/: Debian's /usr/bin/python3 with its grpcio (the C core),
 * a describe() that skips without it (never under CI), and one run of a script to its summary.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { isCI, run } from "../../shared/testing/tools.ts";

/** Debian's own python: the one the apt packages install grpc for (a pyenv python may lack it). */
export const PYTHON = "/usr/bin/python3";
const INSTALL = "apt-get install python3-grpcio python3-grpc-tools";

const hasGrpcio =
  spawnSync(PYTHON, ["-c", "import grpc, grpc_tools.protoc"], { stdio: "ignore" }).status === 0;

/** As describeWithTool (shared/testing/tools.ts): skipped without grpcio, but never under CI. */
export const describeWithGrpcio: typeof describe =
  hasGrpcio || isCI
    ? describe
    : (((name: string, ...rest: unknown[]) =>
        (describe.skip as (...args: unknown[]) => void)(
          `${name} (skipped: ${PYTHON} cannot import grpc; ${INSTALL})`,
          ...rest,
        )) as typeof describe);

export interface PythonRun<T> {
  /** The last line of the script's output, as JSON. */
  summary: T;
  /** The lines before it, as a person reads them. */
  readable: string;
}

/** How long one run of a script may take, in ms. */
const RUN_MS = 15_000;

/** A script stopped because it ran out of time: what it had printed, a line per case or check. */
export class PythonKilled extends Error {
  readonly stdout: string;
  readonly seconds = RUN_MS / 1000;
  constructor(command: string, stdout: string) {
    super(`${command} was killed after ${RUN_MS / 1000} s, before its summary:\n${stdout}`);
    this.name = "PythonKilled";
    this.stdout = stdout;
  }
}

/**
 * Runs python/<script> with `args` to its end, and reads its summary. A script exits 1 when a
 * check failed, which is a summary to read, not an error; one that ends without a summary is
 * (PythonKilled when it ran out of time).
 */
export async function runPython<T>(script: string, args: string[]): Promise<PythonRun<T>> {
  const file = fileURLToPath(new URL(`./python/${script}`, import.meta.url));
  let output: string;
  try {
    // Python starts, compiles the protos and makes its calls: about a second, more on a busy
    // machine. The script's own deadlines bound each call.
    output = (await run(PYTHON, [file, ...args], { timeout: RUN_MS })).stdout;
  } catch (error) {
    const failed = error as Error & {
      stdout?: string;
      stderr?: string;
      code?: unknown;
      killed?: boolean;
    };
    output = failed.stdout ?? "";
    if (failed.killed === true && !output.trim().endsWith("}")) {
      throw new PythonKilled(`${PYTHON} ${file} ${args.join(" ")}`, output);
    }
    if (!output.trim().endsWith("}")) {
      throw new Error(
        `${PYTHON} ${file} ${args.join(" ")} ended (${String(failed.code)}) without its ` +
          `summary:\n${output}${failed.stderr ?? ""}`,
        { cause: error },
      );
    }
  }
  const lines = output.trim().split("\n");
  return {
    summary: JSON.parse(lines.at(-1) ?? "{}") as T,
    readable: lines.slice(0, -1).join("\n"),
  };
}

/** A stub's message, as a Python client printed the status it got: fail with it. */
export function rethrowStub(text: string): void {
  const stub =
    /[\w.]+\(\) is not written yet\. Read Step \d+ in lessons\/[\w.-]+\/README\.md\./.exec(text);
  if (stub) throw new Error(`lesson-10-grpc: ${stub[0]}`);
}
