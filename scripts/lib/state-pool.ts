// Runs half-written states in child processes, a few at a time (see scripts/half-written.ts).
import { fork, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ROOT } from "./lessons.ts";
import type { RunJob, RunResult } from "./run-state.ts";

const RUNNER = fileURLToPath(new URL("./run-state.ts", import.meta.url));
/** A child that has not answered this long after its deadline is ended. */
const KILL_AFTER_MS = 45_000;

/**
 * Runs jobs in child processes, `size` at a time, in the order they were asked for. Each child
 * runs scripts/lib/run-state.ts and sends back one RunResult; its folder is removed after.
 */
export class StatePool {
  /** How many jobs have ended. */
  done = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #running = new Map<ChildProcess, RunJob>();
  readonly #deadlines = new Map<string, number>();
  #free: number;

  constructor(size: number) {
    this.#free = size;
  }

  /** Sets the deadline of every job of `lesson`, queued or under way, counted from its start. */
  setDeadline(lesson: string, deadlineMs: number): void {
    this.#deadlines.set(lesson, deadlineMs);
    for (const [child, job] of this.#running) {
      if (job.lesson === lesson && child.connected) child.send({ deadlineMs });
    }
  }

  async run(job: RunJob): Promise<RunResult> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      const deadlineMs = this.#deadlines.get(job.lesson) ?? job.deadlineMs;
      return await this.#fork({ ...job, deadlineMs });
    } finally {
      this.done++;
      rmSync(job.dir, { recursive: true, force: true });
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }

  #fork(job: RunJob): Promise<RunResult> {
    return new Promise((resolve) => {
      // The course's own `npm test` environment: no target or lesson forced from outside.
      const env = { ...process.env, COURSE_TARGET: undefined, COURSE_LESSON: undefined };
      const child = fork(RUNNER, [JSON.stringify(job)], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      this.#running.set(child, job);
      let output = "";
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString("utf8")).slice(-4000);
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      let result: RunResult | undefined;
      child.on("message", (message) => (result = message as RunResult));
      const started = performance.now();
      // The child stops itself at its deadline; this is for a child that cannot.
      const killer = setInterval(() => {
        const deadline = this.#deadlines.get(job.lesson) ?? job.deadlineMs;
        if (performance.now() - started > deadline + KILL_AFTER_MS) child.kill("SIGKILL");
      }, 1000);
      child.on("exit", (code, signal) => {
        clearInterval(killer);
        this.#running.delete(child);
        resolve(
          result ?? {
            ms: performance.now() - started,
            tests: [],
            unhandledCount: 1,
            unhandled: [
              {
                message: `the test run ended (${signal ?? `exit code ${code}`}) without a result; it printed: ${lastLines(output)}`,
                times: 1,
              },
            ],
            notLoaded: [],
            outsideTests: [],
          },
        );
      });
    });
  }
}

/** The end of a child's output, on one line. */
function lastLines(output: string): string {
  const lines = output.trim().split(/\r?\n/).slice(-3);
  return lines.length > 0 && lines[0] !== "" ? lines.join(" | ") : "nothing";
}
