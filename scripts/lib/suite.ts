import path from "node:path";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import { createVitest } from "vitest/node";
import { ROOT } from "./lessons.ts";

/** One test's outcome, as the course scripts use it. */
export interface Outcome {
  /** "lesson-02-custom-protocol" */
  lesson: string;
  /** "lessons/lesson-02-custom-protocol/resp.test.ts" */
  file: string;
  /** The describe chain and the test name, joined with " > ". */
  name: string;
  /** The top-level describe block: "Step 2: ...". */
  step: string | undefined;
  state: "passed" | "failed" | "skipped" | "pending";
  /** The first error's message, for a failed test. */
  message: string | undefined;
}

/** A test file that failed to load or to finish in time, or an error thrown outside any test. */
export interface SuiteError {
  /** The lesson whose test file it was; undefined for an error outside any file. */
  lesson: string | undefined;
  /** "load": the file did not load; "late": it was still running at the deadline. */
  kind: "load" | "late" | "unhandled";
  message: string;
}

export interface SuiteRun {
  /** Every test, in the order a learner meets them: by step, then file, then as written. */
  outcomes: Outcome[];
  errors: SuiteError[];
}

export interface SuiteOptions {
  /** "exercises" (the default target), "solutions", or "stubs" (see vitest.config.ts). */
  mode?: "solutions" | "stubs";
  /** File filters, as on the command line: ["lesson-02"]. */
  filters?: string[];
  /** Called after each test finishes, with the number finished so far. */
  onProgress?: (finished: number) => void;
  /**
   * How long the whole run may take before unfinished files are reported and the run stopped.
   * Without it, the run is stopped only when it stalls (see STALL_MS).
   */
  deadlineMs?: number;
  /**
   * Called after each test once every test file has collected its tests, with every test so far
   * (those still to run are "pending"). Returning true ends the run there: for a caller that needs
   * only part of the answer, such as the first step with a failing test.
   */
  stopWhen?: (outcomes: Outcome[]) => boolean;
}

/**
 * Each test has a timeout, but loading a test file has none: a file whose top-level code never
 * finishes would hold the run forever. So the run is stopped when nothing has moved for this
 * long: no file collected or finished, no test finished. A whole-run limit would grow wrong as
 * the course grows and on a slower machine; a minute without progress is a hang on any machine,
 * since each test and hook is bounded by seconds.
 */
const STALL_MS = 60_000;

/** Runs the suite once through vitest's Node API and returns every test's outcome. */
export async function runSuite(options: SuiteOptions = {}): Promise<SuiteRun> {
  let finished = 0;
  const unfinished = new Map<string, TestModule>();
  const collected = new Set<string>();
  let files = new Set<string>();
  let stopEarly = (): void => {};
  let stalled = (): void => {};
  let stallTimer: NodeJS.Timeout | undefined;
  const moved = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => stalled(), STALL_MS);
  };
  const stopped = new Promise<"stopped">((resolve) => (stopEarly = () => resolve("stopped")));
  const progress: Reporter = {
    onTestModuleQueued(module) {
      unfinished.set(module.moduleId, module);
    },
    onTestModuleCollected(module) {
      collected.add(module.moduleId);
      moved();
    },
    onTestModuleEnd(module) {
      unfinished.delete(module.moduleId);
      moved();
    },
    onTestCaseResult() {
      moved();
      options.onProgress?.(++finished);
      const { stopWhen } = options;
      if (stopWhen === undefined || [...files].some((file) => !collected.has(file))) return;
      if (stopWhen(vitest.state.getTestModules().flatMap(outcomesOf))) stopEarly();
    },
  };
  const vitest = await createVitest("test", {
    root: ROOT,
    mode: options.mode,
    watch: false,
    reporters: [progress],
  });
  try {
    const { deadlineMs } = options;
    let timer: NodeJS.Timeout | undefined;
    let limit = `within ${STALL_MS / 1000} s of the last thing to finish`;
    const outOfTime = new Promise<"out of time">((resolve) => {
      stalled = () => resolve("out of time");
      if (deadlineMs !== undefined) {
        timer = setTimeout(() => {
          limit = `within ${deadlineMs / 1000} s`;
          resolve("out of time");
        }, deadlineMs);
      }
    });
    moved();
    if (options.stopWhen) {
      const specs = await vitest.globTestSpecifications(options.filters ?? []);
      files = new Set(specs.map((spec) => spec.moduleId));
    }
    const run = vitest.start(options.filters ?? []);
    const ended = await Promise.race([run, outOfTime, stopped]);
    clearTimeout(timer);
    clearTimeout(stallTimer);
    const late: SuiteError[] = [];
    if (ended === "stopped") {
      // What was asked is known; the tests still running are of no interest.
      run.catch(() => {});
      vitest.cancelCurrentRun("test-failure").catch(() => {});
    } else if (ended === "out of time") {
      for (const queued of unfinished.values()) {
        // The module queued is not always the object that collected the file's tests since.
        const module =
          vitest.state.getTestModules().find((m) => m.moduleId === queued.moduleId) ?? queued;
        late.push({
          lesson: lessonOf(module),
          kind: "late",
          message: unfinishedMessage(module, limit),
        });
      }
      // Cancelling waits for the stuck file, which never finishes; close() below ends its worker.
      run.catch(() => {});
      vitest.cancelCurrentRun("test-failure").catch(() => {});
    }
    const modules = vitest.state.getTestModules();
    const errors: SuiteError[] = vitest.state.getUnhandledErrors().map((err): SuiteError => ({
      lesson: undefined,
      kind: "unhandled",
      message: String((err as Error).message ?? err),
    }));
    errors.push(...late);
    for (const module of modules) {
      for (const error of module.errors()) {
        errors.push({
          lesson: lessonOf(module),
          kind: "load",
          message: `${relative(module)}: ${error.message}`,
        });
      }
    }
    const outcomes = modules.flatMap(outcomesOf);
    // Modules come back in the order they finished; a learner reads Step 1 before Step 2.
    const key = (o: Outcome): [number, string] => [
      Number(o.step?.match(/^Step (\d+)/)?.[1] ?? 1e9),
      o.file,
    ];
    outcomes.sort((a, b) => {
      const [stepA, fileA] = key(a);
      const [stepB, fileB] = key(b);
      return stepA - stepB || fileA.localeCompare(fileB);
    });
    return { outcomes, errors };
  } finally {
    clearTimeout(stallTimer);
    await vitest.close();
  }
}

/**
 * Why a test file was still running at the deadline: its top-level code never finished (no test
 * was collected), or its tests were still running, one after another reaching its timeout.
 */
function unfinishedMessage(module: TestModule, within: string): string {
  const tests = [...module.children.allTests()];
  if (tests.length === 0) {
    return `${relative(module)}: did not finish loading ${within} (does its top-level code wait on something that never happens?)`;
  }
  const left = tests.filter((test) => test.result().state === "pending");
  const [running] = left;
  const at = running ? `; still waiting in "${running.fullName}"` : "";
  return `${relative(module)}: ${left.length} of ${tests.length} tests had not finished ${within}${at}`;
}

function relative(module: TestModule): string {
  return path.relative(ROOT, module.moduleId).split(path.sep).join("/");
}

function lessonOf(module: TestModule): string {
  const file = relative(module);
  return file.split("/")[1] ?? file;
}

function outcomesOf(module: TestModule): Outcome[] {
  const file = relative(module);
  const lesson = lessonOf(module);
  return [...module.children.allTests()].map((test: TestCase) => {
    const result = test.result();
    let top: TestCase["parent"] = test.parent;
    while (top.type === "suite" && top.parent.type === "suite") top = top.parent;
    return {
      lesson,
      file,
      name: test.fullName,
      step: top.type === "suite" ? top.name : undefined,
      state: result.state,
      message: result.state === "failed" ? result.errors[0]?.message : undefined,
    };
  });
}
