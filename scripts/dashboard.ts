// npm start [-- <lesson>]: runs the lessons' tests against your exercises, shows where you are,
// and what to do next: in the lesson named (only its tests run), else in the lesson you are in the
// middle of, else in the one after the last lesson you finished.
import { parseArgs } from "./lib/args.ts";
import { findLesson, listLessons, type Lesson } from "./lib/lessons.ts";
import {
  lessonUnderWay,
  progressOf,
  stepNumber,
  unwrittenIn,
  type LessonProgress,
  type Unwritten,
} from "./lib/progress.ts";
import { readmeSection } from "./lib/readme.ts";
import { bold, cyan, dim, green, progressBar, red, spinner, yellow } from "./lib/style.ts";
import { runSuite, type Outcome, type SuiteError } from "./lib/suite.ts";

const args = parseArgs(process.argv.slice(2), { usage: "npm start [-- <lesson>]" });
const focus = args.positional[0] === undefined ? undefined : findLesson(args.positional[0]);
const lessons = listLessons();
const shown = focus ? [focus] : lessons;
let finished = 0;
const stop = spinner("Running the tests against your exercises", () => `${finished} done`);
let run;
try {
  run = await runSuite({
    filters: focus ? [focus.name] : undefined,
    onProgress: (n) => (finished = n),
  });
} finally {
  stop();
}
const progress = progressOf(shown, run);

console.log(bold("\nThe protocol course\n"));
let passedTotal = 0;
let testsTotal = 0;
for (const p of progress) {
  const total = p.outcomes.length - p.skipped;
  passedTotal += p.passed;
  testsTotal += total;
  const status = {
    "does not load": red("✘ a test file does not load"),
    "no tests": red("no tests found"),
    done: green("✔ done"),
    "not started": dim("not started"),
    "under way": yellow(`${p.passed} of ${total} tests`),
  }[p.state];
  const skipped = p.skipped > 0 ? dim(` (${p.skipped} skipped: a tool is missing)`) : "";
  console.log(`  ${p.lesson.number}  ${p.lesson.title.padEnd(40)} ${status}${skipped}`);
}

// A test file that does not load contributes no tests, so the total says so rather than shrink.
const unloaded = run.errors.filter((e) => e.kind === "load").length;
const uncounted =
  unloaded > 0 ? red(` (+ ${unloaded} test file${unloaded === 1 ? "" : "s"} not loaded)`) : "";
const done = progress.filter((p) => p.state === "done").length;
const lessonCount = focus ? "" : `, ${done}/${lessons.length} lessons`;
console.log(
  `\n  ${progressBar(passedTotal, testsTotal)}  ${passedTotal}/${testsTotal} tests${uncounted}${lessonCount}\n`,
);

/** Errors thrown outside any test: a timer or a socket handler that reached unwritten code. */
const stray = run.errors.filter((e) => e.kind === "unhandled");
const target = focus ? progress[0] : lessonUnderWay(progress);
if (target === undefined) {
  console.log(green(bold("Every lesson passes. Well done!")));
  const last = lessons.at(-1);
  if (last) afterLesson(last);
} else if (target.state === "done") {
  console.log(green(bold(`${short(target.lesson)} passes. Well done!`)));
  afterLesson(target.lesson);
  const next = lessons[lessons.findIndex((l) => l.name === target.lesson.name) + 1];
  if (next) {
    console.log(`\n${bold("Next lesson")}: ${next.number} ${next.title}`);
    console.log(`  Read:  ${cyan(`lessons/${next.name}/README.md`)}`);
    console.log(`  Then:  ${cyan(`npm start -- ${short(next)}`)}\n`);
  }
} else {
  // Coming to a lesson straight after finishing the one before it: say so before moving on.
  const before = progress[progress.indexOf(target) - 1];
  if (!focus && target.state === "not started" && before?.state === "done") {
    console.log(green(bold(`${short(before.lesson)} passes. Well done!`)));
    afterLesson(before.lesson);
    console.log("");
  }
  nextUp(target);
}
printStray(stray);

// Failing tests are where a learner is, not an error of this command (vitest sets the exit code).
process.exitCode = 0;

function nextUp(p: LessonProgress): void {
  const lesson = p.lesson;
  const [loadError] = p.loadErrors;
  const [failure] = p.failed;
  console.log(`${bold("Next up")}  ${dim(lesson.name)}`);
  let step: string | undefined;
  if (loadError) {
    console.log("  A test file cannot load your code: fix this first.");
    const [unwritten] = unwrittenIn(p.loadErrors.map((e) => e.message));
    if (unwritten) {
      // Code that runs as a module loads (a reply encoded once, up front) reached a stub.
      step = unwritten.step;
      console.log(`  ${red(`Not written yet: ${unwritten.fn} (${unwritten.step})`)}`);
    }
    console.log(`      ${red(firstLines(loadError.message, 6))}`);
  } else if (failure) {
    step = failure.step;
    const inStep = p.failed.filter((o) => stepNumber(o.step) === stepNumber(step));
    // The real cause first: a test that times out or fails oddly because the code it reaches is
    // a stub names the stub only in its own message, or only in an error thrown from a timer.
    const unwritten = unwrittenIn([
      ...inStep.map((o) => o.message),
      ...stray.map((e) => e.message),
    ]).filter((u) => u.lesson === lesson.name);
    const stepName = step?.match(/^Step \d+/)?.[0];
    const ofStep = unwritten.filter((u) => u.step === stepName);
    const named = ofStep.length > 0 ? ofStep : unwritten;
    // Said once: when the first failure is the stub's own error, its message is the cause.
    const [own] = unwrittenIn([failure.message]);
    const saysItAll = named.length === 1 && own?.fn === named[0]?.fn;
    if (named.length > 0 && !saysItAll) {
      console.log(`  ${step ?? lesson.name}`);
      console.log(`  ${red(`Not written yet: ${listed(named)}`)}`);
      console.log(`  ${dim(`First failing test (of ${inStep.length} in this step):`)}`);
    }
    console.log(`  ${failure.name}`);
    console.log(`  ${dim(failure.file)}`);
    console.log(`      ${red(firstLines(failureMessage(failure), 6))}`);
  }
  for (const late of p.lateErrors) console.log(`  ${yellow(late.message)}`);
  console.log(`\n  Read:  ${cyan(readmeSection(lesson.name, step))}`);
  console.log(`  Edit:  ${cyan(`exercises/${lesson.name}/`)}`);
  console.log(
    `  Test:  ${cyan(`npm test -- ${short(lesson)}`)}   (watches your files and re-runs)`,
  );
  console.log(
    `  Stuck? ${cyan(`npm run hint -- ${short(lesson)}`)} shows the next hint for the step you are on, one at a time.\n`,
  );
}

/** What to do with a lesson that passes: compare it with the reference, measure it. */
function afterLesson(lesson: Lesson): void {
  console.log(
    `Compare your code with the reference: ${cyan(`npm run compare -- ${short(lesson)}`)}`,
  );
  if (lesson.bench) {
    console.log(
      `Measure what it does on your machine: ${cyan(`npm run bench -- ${short(lesson)}`)}`,
    );
  }
}

/**
 * Errors outside any test, each message once with how often it came: a stub reached from a timer
 * that the tests never stopped can throw the same error a hundred times.
 */
function printStray(errors: SuiteError[]): void {
  if (errors.length === 0) return;
  const counts = new Map<string, number>();
  for (const e of errors) {
    const line = firstLines(e.message, 1);
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  const MAX_SHOWN = 3;
  console.log(
    red(
      `${errors.length} error${errors.length === 1 ? "" : "s"} thrown outside any test (from a timer or a socket handler):`,
    ),
  );
  for (const [line, count] of [...counts].slice(0, MAX_SHOWN)) {
    console.log(red(`  ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`) + times(count));
  }
  if (counts.size > MAX_SHOWN) console.log(red(`  and ${counts.size - MAX_SHOWN} more kinds`));
  console.log("");
}

function times(count: number): string {
  return count > 1 ? dim(` (${count} times)`) : "";
}

/** "execute(), Store.get() (Step 3)": the first few, with the README step each belongs to. */
function listed(unwritten: Unwritten[]): string {
  const MAX_NAMED = 3;
  const shownNow = unwritten.slice(0, MAX_NAMED);
  const steps = [...new Set(shownNow.map((u) => u.step))];
  const names = shownNow.map((u) => (steps.length === 1 ? u.fn : `${u.fn} (${u.step})`));
  const more = unwritten.length - shownNow.length;
  const list = more > 0 ? `${names.join(", ")} and ${more} more` : names.join(", ");
  return steps.length === 1 ? `${list} (${steps[0]})` : list;
}

/** A failure in the learner's terms: vitest's advice to raise the timeout is not for them. */
function failureMessage(failure: Outcome): string {
  if (failure.state === "pending") return "did not finish before the run ran out of time";
  const message = failure.message ?? "";
  const timedOut = message.match(/^Test timed out in \d+ms\./)?.[0];
  if (timedOut === undefined) return message;
  return `${timedOut} It waited for something your code never did: an answer, an event, a close.`;
}

function firstLines(text: string, count: number): string {
  return text.split("\n").slice(0, count).join("\n      ");
}

function short(lesson: Lesson): string {
  return `lesson-${lesson.number}`;
}
