// npm run check:half-written [-- <lesson>]: half-written code fails fast.
//
// A learner who has written some files and not others must get quick failures that name the
// unwritten function and its README step: never a bare timeout, an unhandled error or a hung run.
// For every lesson this tries the states a learner passes through, each once:
//
//   - the untouched stubs (as committed in git, as `npm run check` reads them);
//   - the stubs with exactly one file replaced by the reference's, for each file to write;
//   - the stubs with steps 1..k written, for each k before the last step. A stub names its steps in
//     its `todo("<lesson>", "<fn>()", "Step N")` calls, and a file counts as written once every
//     step it names is done. A file whose code is the reference's is given and stays as it is.
//
// and runs the lesson's tests against each, with the learner's own vitest settings. Tests failing
// is expected; what may not happen is a run that takes more than 3x the lesson's run against the
// full reference (and at least FLOOR_MS, so that vitest's start-up on a busy machine does not fail
// a small lesson), an unhandled error, a test that ends in vitest's bare "Test timed out in", a test
// file that fails to load, or a run that does not finish.
import { rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "./lib/args.ts";
import { findLesson, listLessons, ROOT, type Lesson } from "./lib/lessons.ts";
import { pristineRef } from "./lib/pristine.ts";
import type { RunResult, TestResult } from "./lib/run-state.ts";
import { lessonFiles, materialize, statesOf, type LessonFile, type State } from "./lib/states.ts";
import { StatePool } from "./lib/state-pool.ts";
import { bold, dim, green, red, spinner } from "./lib/style.ts";

/** A state may take this many times the lesson's all-reference run. */
const RATIO = 3;
/** ... and at least this long: vitest alone takes a few seconds to start on two busy cores. */
const FLOOR_MS = 10_000;
/** A run past its limit goes on a little longer, to show how far past it goes, then is stopped. */
const GRACE = 1.5;
/** The all-reference run itself, as `npm run check` allows the whole suite. */
const REFERENCE_DEADLINE_MS = 120_000;
/** How many offending tests or messages to show for each kind of problem. */
const SHOWN = 3;

const usage = "npm run check:half-written [-- <lesson>] [--jobs N]";
const args = parseArgs(process.argv.slice(2), { usage, values: ["jobs"] });
const jobs = Number(args.values.get("jobs") ?? "2");
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`--jobs takes a whole number, not ${JSON.stringify(args.values.get("jobs"))}.`);
  console.error(`Usage: ${usage}`);
  process.exit(2);
}
const lessons = args.positional.length > 0 ? args.positional.map(findLesson) : listLessons();

const WORK_DIR = path.join(ROOT, ".course", "half-written");
rmSync(WORK_DIR, { recursive: true, force: true });

const ref = pristineRef();
console.log(
  dim(
    `Stubs as committed at ${ref ? ref.slice(0, 7) : "(no git: the working tree)"}, reference from solutions/, ${jobs} run(s) at a time.`,
  ),
);

interface Plan {
  lesson: Lesson;
  files: LessonFile[];
  states: State[];
  reference: Promise<RunResult>;
  results: Map<State, Promise<RunResult>>;
}

const pool = new StatePool(jobs);
const plans: Plan[] = lessons.map((lesson) => {
  const files = lessonFiles(lesson.name, ref);
  const states = statesOf(files);
  const dir = path.join(WORK_DIR, lesson.name, "reference");
  materialize(dir, lesson.name, files, "all");
  const reference = pool.run({ lesson: lesson.name, dir, deadlineMs: REFERENCE_DEADLINE_MS });
  return { lesson, files, states, reference, results: new Map() };
});
// The references first, so that each lesson's limit is known early; the states after them.
for (const plan of plans) {
  plan.states.forEach((state, i) => {
    const dir = path.join(WORK_DIR, plan.lesson.name, String(i));
    materialize(dir, plan.lesson.name, plan.files, new Set(state.written));
    const started = pool.run({ lesson: plan.lesson.name, dir, deadlineMs: REFERENCE_DEADLINE_MS });
    plan.results.set(state, started);
  });
  // A state that starts before the reference has finished gets its real deadline once it has.
  void plan.reference.then((reference) => {
    pool.setDeadline(plan.lesson.name, limitOf(reference) * GRACE);
  });
}

const total = plans.reduce((n, p) => n + p.states.length, 0);
const progress = (): string => `${pool.done} of ${total + plans.length} runs`;
let stopSpinner = spinner("half-written states", progress);
let problems = 0;
let tried = 0;
let slowest: { ms: number; what: string } | undefined;
for (const [index, plan] of plans.entries()) {
  const reference = await plan.reference;
  const limitMs = limitOf(reference);
  const name = plan.lesson.name;
  const lines: string[] = [];
  const passed = reference.tests.filter((t) => t.state === "passed").length;
  lines.push(
    bold(name) +
      `: reference ${s(reference.ms)} (${passed} of ${reference.tests.length} tests pass); ` +
      `limit ${s(limitMs)} (${RATIO}x, at least ${s(FLOOR_MS)})`,
  );
  const referenceBroken = violations(reference, REFERENCE_DEADLINE_MS);
  const failing = reference.tests.filter((t) => t.state === "failed" || t.state === "pending");
  if (failing.length > 0) {
    referenceBroken.push(
      `${failing.length} test(s) fail against the reference (npm run test:solutions -- ${name}): ` +
        failing
          .slice(0, SHOWN)
          .map((t) => t.name)
          .join("; "),
    );
  }
  if (referenceBroken.length > 0) {
    problems++;
    lines.push(`  ${red("✘")} the reference itself:`);
    for (const v of referenceBroken) lines.push(indent(v, 6));
  }
  lines.push(dim(`  ${stepsOfFiles(plan.files)}`));
  for (const state of plan.states) {
    const result = await (plan.results.get(state) as Promise<RunResult>);
    tried++;
    const what = `${short(name)}, ${state.label}`;
    if (!slowest || result.ms > slowest.ms) slowest = { ms: result.ms, what };
    const found = violations(result, limitMs);
    const pass = result.tests.filter((t) => t.state === "passed").length;
    const detail = dim(`${pass} of ${result.tests.length} pass`);
    const files = state.written.length > 1 ? dim(` (${state.written.join(", ")})`) : "";
    lines.push(
      `  ${found.length === 0 ? green("✔") : red("✘")} ${s(result.ms).padStart(7)}  ${state.label}${files}  ${detail}`,
    );
    for (const v of found) lines.push(indent(v, 13));
    const notes = result.outsideTests.filter((e) => !bareTimeout(e.message));
    for (const e of notes.slice(0, SHOWN)) {
      lines.push(dim(indent(`note: outside any test, ${e.where}: ${firstLine(e.message)}`, 13)));
    }
    if (found.length > 0) problems++;
  }
  stopSpinner();
  console.log(lines.join("\n"));
  if (process.stdout.isTTY && index < plans.length - 1)
    stopSpinner = spinner("half-written states", progress);
}
stopSpinner();
rmSync(WORK_DIR, { recursive: true, force: true });

const worst = slowest ? `, slowest ${s(slowest.ms)} (${slowest.what})` : "";
const verdict = `half-written: ${tried} states tried${worst}, ${problems} problem${problems === 1 ? "" : "s"}`;
console.log(`\n${problems === 0 ? green(verdict) : red(verdict)}`);
if (problems > 0) {
  console.log(
    dim(
      "To see one yourself: copy the named files from solutions/ over exercises/ and run npm test -- <lesson>.",
    ),
  );
}
process.exitCode = problems === 0 ? 0 : 1;

/** "steps by file: lines.ts 1, server.ts 3+5, errors.ts given": how the states were made. */
function stepsOfFiles(files: LessonFile[]): string {
  const named = files.map((f) => {
    if (f.given) return `${f.name} given`;
    if (f.steps.length === 0) return `${f.name} last (names no step)`;
    const from = f.stepsFrom === "todo()" ? "" : ` (${f.stepsFrom})`;
    return `${f.name} ${f.steps.join("+")}${from}`;
  });
  return `steps by file: ${named.join(", ")}`;
}

/** How long a state of a lesson may take, from the run against its full reference. */
function limitOf(reference: RunResult): number {
  return Math.max(RATIO * reference.ms, FLOOR_MS);
}

/** What is wrong with one run, one entry per kind of problem; empty when it fails fast. */
function violations(result: RunResult, limitMs: number): string[] {
  const found: string[] = [];
  if (result.unfinished) {
    const { deadlineMs, files, running } = result.unfinished;
    const where = files.length > 0 ? ` with ${files.map(base).join(", ")} unfinished` : "";
    const stuck = running.map((name) => name.replace(/^lessons\/[^/]+\//, ""));
    found.push(
      stuck.length > 0
        ? list(`did not finish: stopped after ${s(deadlineMs)}${where}; still running`, stuck)
        : `did not finish: stopped after ${s(deadlineMs)}${where}`,
    );
  } else if (result.ms > limitMs) {
    found.push(`took ${s(result.ms)}, more than the limit of ${s(limitMs)}`);
  }
  if (result.closeHung) {
    found.push("vitest did not close: a server, socket, timer or child process was left open");
  }
  if (result.unhandledCount > 0) {
    found.push(
      list(
        `${result.unhandledCount} unhandled error(s)`,
        result.unhandled.map(
          ({ message, times }) =>
            `${firstLine(message)}${times > 1 ? dim(` (${times} times)`) : ""}`,
        ),
      ),
    );
  }
  const timedOut: string[] = [
    ...result.tests
      .filter((t) => t.state === "failed" && bareTimeout(t.message))
      .map((t) => `${testName(t)}: ${firstLine(t.message)}`),
    ...result.outsideTests
      .filter((e) => bareTimeout(e.message))
      .map((e) => `${e.where}: ${firstLine(e.message)}`),
  ];
  if (timedOut.length > 0) {
    found.push(list(`${timedOut.length} ended in vitest's bare timeout`, timedOut));
  }
  if (result.notLoaded.length > 0) {
    found.push(
      list(
        `${result.notLoaded.length} test file(s) failed to load`,
        result.notLoaded.map((e) => `${base(e.file)}: ${firstLine(e.message)}`),
      ),
    );
  }
  return found;
}

/** "Test timed out in 5000ms.", "Hook timed out in 10000ms.": a wait nobody bounded. */
function bareTimeout(message: string | undefined): boolean {
  return /^(Test|Hook) timed out in \d+ ?ms/.test(message ?? "");
}

/** `head`, then the first few `items`, one a line, and how many more there are. */
function list(head: string, items: string[]): string {
  const shown = items.slice(0, SHOWN).map((item) => `\n  ${item}`);
  const more = items.length > shown.length ? `\n  ... and ${items.length - shown.length} more` : "";
  return `${head}:${shown.join("")}${more}`;
}

function testName(t: TestResult): string {
  return `${base(t.file)} > ${t.name}`;
}

function base(file: string): string {
  return file.split("/").pop() ?? file;
}

function firstLine(message: string | undefined): string {
  const line = (message ?? "").split("\n")[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function indent(text: string, by: number): string {
  return text.replace(/^/gm, " ".repeat(by));
}

/** "lesson-04-keep-alive" -> "lesson-04" */
function short(lesson: string): string {
  return lesson.slice(0, "lesson-NN".length);
}

function s(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
