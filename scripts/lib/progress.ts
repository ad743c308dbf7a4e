import type { Lesson } from "./lessons.ts";
import type { Outcome, SuiteError, SuiteRun } from "./suite.ts";

/** Where a learner is in one lesson, from one run of its tests against exercises/. */
export interface LessonProgress {
  lesson: Lesson;
  /** The lesson's tests, by step. */
  outcomes: Outcome[];
  /** Test files of the lesson that did not load. */
  loadErrors: SuiteError[];
  /** Test files of the lesson still running when the run ran out of time. */
  lateErrors: SuiteError[];
  passed: number;
  skipped: number;
  failed: Outcome[];
  state: "does not load" | "no tests" | "done" | "not started" | "under way";
}

export function progressOf(lessons: Lesson[], run: SuiteRun): LessonProgress[] {
  return lessons.map((lesson) => {
    const outcomes = run.outcomes.filter((o) => o.lesson === lesson.name);
    const loadErrors = run.errors.filter((e) => e.lesson === lesson.name && e.kind === "load");
    const lateErrors = run.errors.filter((e) => e.lesson === lesson.name && e.kind === "late");
    const passed = outcomes.filter((o) => o.state === "passed").length;
    const skipped = outcomes.filter((o) => o.state === "skipped").length;
    const failed = outcomes.filter((o) => o.state === "failed" || o.state === "pending");
    let state: LessonProgress["state"];
    if (loadErrors.length > 0) state = "does not load";
    else if (outcomes.length === 0) state = "no tests";
    else if (failed.length === 0 && passed > 0) state = "done";
    else if (passed === 0) state = "not started";
    else state = "under way";
    return { lesson, outcomes, loadErrors, lateErrors, passed, skipped, failed, state };
  });
}

/**
 * The lesson a learner is on, when they name none: one whose test file does not load (their code
 * broke it); else the first lesson under way (some tests pass), since lessons may be taken out of
 * order; else the first one not started after the last lesson done; else the first one not
 * started. Undefined when every lesson is done.
 */
export function lessonUnderWay(progress: LessonProgress[]): LessonProgress | undefined {
  const lastDone = progress.findLastIndex((p) => p.state === "done");
  return (
    progress.find((p) => p.state === "does not load") ??
    progress.find((p) => p.state === "under way") ??
    progress.slice(lastDone + 1).find((p) => p.state === "not started") ??
    progress.find((p) => p.state === "not started") ??
    progress.find((p) => p.state === "no tests")
  );
}

/** The step number a test belongs to: "Step 3: ..." -> 3. */
export function stepNumber(step: string | undefined): number | undefined {
  const n = step?.match(/^Step (\d+)\b/)?.[1];
  return n === undefined ? undefined : Number(n);
}

/**
 * The step a learner is on: the first of `steps` with a failing test. A step none of whose tests
 * ran counts as not done when a test file failed to load (its tests may be there), else as having
 * no tests to pass. Undefined when every step passes.
 */
export function stepUnderWay(progress: LessonProgress, steps: number[]): number | undefined {
  // Nothing ran: an untouched lesson, or no test file loads. Either way, Step 1 comes first.
  if (progress.outcomes.length === 0) return steps[0];
  for (const n of steps) {
    const tests = progress.outcomes.filter((o) => stepNumber(o.step) === n);
    if (tests.length === 0 && progress.loadErrors.length > 0) return n;
    if (tests.some((o) => o.state === "failed" || o.state === "pending")) return n;
  }
  return undefined;
}

/**
 * Whether the tests so far already tell the step a learner is on, before the rest have run: a
 * test of that step has failed, and every test of each step before it has passed. A step before it
 * with no test at all (its file may not load) leaves the answer open.
 */
export function stepIsKnown(outcomes: Outcome[], steps: number[]): boolean {
  for (const n of steps) {
    const tests = outcomes.filter((o) => stepNumber(o.step) === n);
    if (tests.some((o) => o.state === "failed")) return true;
    if (tests.length === 0 || tests.some((o) => o.state === "pending")) return false;
  }
  return false;
}

/** What an unwritten stub says: `lesson-02-custom-protocol: Store.get() is not written yet. Read Step 3 in ...`. */
const NOT_WRITTEN = /(lesson-\d\d[\w-]*): (\S+) is not written yet\. Read (Step \d+)/g;

export interface Unwritten {
  lesson: string;
  /** "Store.get()" */
  fn: string;
  /** "Step 3" */
  step: string;
}

/** The unwritten functions named in some messages, each once, in the order they first appear. */
export function unwrittenIn(messages: (string | undefined)[]): Unwritten[] {
  const found = new Map<string, Unwritten>();
  for (const message of messages) {
    for (const match of (message ?? "").matchAll(NOT_WRITTEN)) {
      const [, lesson, fn, step] = match as unknown as [string, string, string, string];
      if (!found.has(`${lesson} ${fn}`)) found.set(`${lesson} ${fn}`, { lesson, fn, step });
    }
  }
  return [...found.values()];
}
