// One run of one lesson's tests against one state of its code, in a process of its own, for
// `npm run check:half-written` (scripts/half-written.ts forks this file and reads the message it
// sends). A process per run keeps a state that hangs, leaks handles or crashes from touching the
// next one, and lets two runs go side by side.
//
// The tests import the code under test as `#lesson/<lesson>/<file>.ts`; here that points at a
// folder the parent has written (as the `stubs` mode of vitest.config.ts does for the stubs), and
// `#reference/*` stays at solutions/. Everything else is the learner's own `npm test`: the same
// config, the same timeouts.
import path from "node:path";
import { normalizePath } from "vite";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import { createVitest } from "vitest/node";
import { ROOT } from "./lessons.ts";

/** What the parent asks for. */
export interface RunJob {
  /** "lesson-04-keep-alive" */
  lesson: string;
  /** The folder that holds `<lesson>/<file>.ts` for this state. */
  dir: string;
  /**
   * How long the run may take before it is stopped and reported as not finished. The parent may
   * send a new one (`{ deadlineMs }`, counted from the start) once it knows the reference's time.
   */
  deadlineMs: number;
}

/** One test's outcome. */
export interface TestResult {
  /** "lessons/lesson-04-keep-alive/pool.test.ts" */
  file: string;
  /** The describe chain and the test name, joined with " > ". */
  name: string;
  state: "passed" | "failed" | "skipped" | "pending";
  /** The first error's message, for a failed test. */
  message: string | undefined;
}

/** What the run found, sent back to the parent as one message. */
export interface RunResult {
  /** From creating vitest to closing it: what a learner waits for, less Node's own start-up. */
  ms: number;
  tests: TestResult[];
  /** How many errors were thrown outside any test, that vitest reports as unhandled. */
  unhandledCount: number;
  /** The first few different messages among them, each with how often it came. */
  unhandled: { message: string; times: number }[];
  /** Test files that failed to load: their top-level code threw, or an import did. */
  notLoaded: { file: string; message: string }[];
  /** Errors of a test file or describe block outside its tests: a beforeAll or afterAll hook. */
  outsideTests: { where: string; message: string }[];
  /** Set when the run was stopped at the deadline. */
  unfinished?: {
    /** The deadline it was stopped at. */
    deadlineMs: number;
    /** The test files that had not finished. */
    files: string[];
    /** The tests that had started and not finished: where each file was stuck. */
    running: string[];
  };
  /** vitest.close() did not return in time; the process was ended anyway. */
  closeHung?: boolean;
}

const CLOSE_WAIT_MS = 15_000;
/** A hung state can throw thousands of the same error: the parent shows a few. */
const MESSAGES_KEPT = 10;

export async function runState(job: RunJob): Promise<RunResult> {
  const started = performance.now();
  const unfinished = new Map<string, TestModule>();
  const running = new Map<string, TestCase>();
  const watcher: Reporter = {
    onTestModuleQueued(module) {
      unfinished.set(module.moduleId, module);
    },
    onTestModuleEnd(module) {
      unfinished.delete(module.moduleId);
    },
    onTestCaseReady(test) {
      running.set(test.id, test);
    },
    onTestCaseResult(test) {
      running.delete(test.id);
    },
  };
  const target = normalizePath(path.resolve(job.dir));
  const vitest = await createVitest(
    "test",
    { root: ROOT, watch: false, reporters: [watcher] },
    // A `$` in a folder name must stay a `$` in the replacement.
    {
      resolve: {
        alias: [{ find: /^#lesson\/(.*)$/, replacement: `${target.replaceAll("$", "$$$$")}/$1` }],
      },
    },
  );
  const result: RunResult = {
    ms: 0,
    tests: [],
    unhandledCount: 0,
    unhandled: [],
    notLoaded: [],
    outsideTests: [],
  };
  // The deadline counts from the start; the parent may move it once it knows the reference's time.
  let timer: NodeJS.Timeout | undefined;
  let deadlineMs = job.deadlineMs;
  let stop = (): void => {};
  const outOfTime = new Promise<"out of time">((resolve) => (stop = () => resolve("out of time")));
  const arm = (ms: number): void => {
    deadlineMs = ms;
    clearTimeout(timer);
    timer = setTimeout(stop, Math.max(0, started + ms - performance.now()));
  };
  const onMessage = (message: unknown): void => {
    const ms = (message as Partial<RunJob> | null)?.deadlineMs;
    if (typeof ms === "number") arm(ms);
  };
  arm(deadlineMs);
  process.on("message", onMessage);
  try {
    const run = vitest.start([`lessons/${job.lesson}/`]);
    if ((await Promise.race([run, outOfTime])) === "out of time") {
      result.unfinished = {
        deadlineMs,
        files: [...unfinished.values()].map(relative),
        // Results come in batches: a test counts as running only while vitest has none for it.
        running: [...running.values()]
          .filter(
            (test) => unfinished.has(test.module.moduleId) && test.result().state === "pending",
          )
          .map((test) => `${relative(test.module)} > ${test.fullName}`),
      };
      run.catch(() => {});
      vitest.cancelCurrentRun("test-failure").catch(() => {});
    }
    clearTimeout(timer);
    const unhandled = vitest.state.getUnhandledErrors();
    result.unhandledCount = unhandled.length;
    const times = new Map<string, number>();
    for (const err of unhandled) {
      const e = err as { name?: string; message?: string };
      const message = `${e.name ?? "Error"}: ${e.message ?? String(err)}`;
      times.set(message, (times.get(message) ?? 0) + 1);
    }
    result.unhandled = [...times]
      .slice(0, MESSAGES_KEPT)
      .map(([message, n]) => ({ message, times: n }));
    for (const module of vitest.state.getTestModules()) collect(module, result);
  } finally {
    clearTimeout(timer);
    process.off("message", onMessage);
    const closed = await Promise.race([
      vitest.close().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_WAIT_MS).unref()),
    ]);
    if (!closed) result.closeHung = true;
    result.ms = performance.now() - started;
  }
  return result;
}

function collect(module: TestModule, into: RunResult): void {
  const file = relative(module);
  const tests = [...module.children.allTests()];
  for (const error of module.errors()) {
    if (tests.length === 0) into.notLoaded.push({ file, message: error.message });
    else into.outsideTests.push({ where: file, message: error.message });
  }
  for (const suite of module.children.allSuites()) {
    for (const error of suite.errors()) {
      into.outsideTests.push({ where: `${file} > ${suite.fullName}`, message: error.message });
    }
  }
  for (const test of tests) {
    const result = test.result();
    into.tests.push({
      file,
      name: test.fullName,
      state: result.state,
      message: result.state === "failed" ? result.errors[0]?.message : undefined,
    });
  }
}

function relative(module: TestModule): string {
  return path.relative(ROOT, module.moduleId).split(path.sep).join("/");
}

// Forked by the parent: run the job named on the command line and send back what it found.
if (process.send && process.argv[2]) {
  const job = JSON.parse(process.argv[2]) as RunJob;
  const result = await runState(job);
  process.send(result, () => process.exit(0));
}
