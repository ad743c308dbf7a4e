// npm start [-- <lesson>]: runs every lesson's tests against your exercises, shows where you are,
// and what to do next: in the lesson named, else in the lesson you are in the middle of.
import { parseArgs } from "./lib/args.ts";
import { findLesson, listLessons } from "./lib/lessons.ts";
import { readmeSection } from "./lib/readme.ts";
import { bold, cyan, dim, green, progressBar, red, spinner, yellow } from "./lib/style.ts";
import { runSuite, type Outcome, type SuiteError } from "./lib/suite.ts";

const args = parseArgs(process.argv.slice(2), { usage: "npm start [-- <lesson>]" });
const focus = args.positional[0] === undefined ? undefined : findLesson(args.positional[0]).name;
const lessons = listLessons();
let finished = 0;
const stop = spinner("Running the tests against your exercises", () => `${finished} done`);
let run;
try {
  run = await runSuite({ onProgress: (n) => (finished = n) });
} finally {
  stop();
}

function groupByLesson<T extends { lesson: string | undefined }>(items: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    if (item.lesson === undefined) continue;
    groups.set(item.lesson, [...(groups.get(item.lesson) ?? []), item]);
  }
  return groups;
}
const outcomesOf = groupByLesson(run.outcomes);
const loadErrorsOf = groupByLesson(run.errors);

/** What the learner should look at first: a test file that does not load, or a failing test. */
interface NextUp {
  lesson: string;
  headline: string;
  file: string | undefined;
  message: string;
  step: string | undefined;
}

/**
 * Which lesson "Next up" speaks of, lowest first: the one named; else one whose test file does not
 * load; else the first lesson under way (some tests pass), since lessons may be taken out of order;
 * else the first lesson with a failing test.
 */
function nextUpRank(lesson: string, loadFails: boolean, started: boolean): number {
  if (focus !== undefined) return lesson === focus ? 0 : Number.POSITIVE_INFINITY;
  if (loadFails) return 1;
  return started ? 2 : 3;
}

console.log(bold("\nThe protocol course\n"));
let passedTotal = 0;
let testsTotal = 0;
let lessonsDone = 0;
let next: NextUp | undefined;
let nextRank = Number.POSITIVE_INFINITY;
for (const lesson of lessons) {
  const outcomes: Outcome[] = outcomesOf.get(lesson.name) ?? [];
  const loadErrors: SuiteError[] = loadErrorsOf.get(lesson.name) ?? [];
  const passed = outcomes.filter((o) => o.state === "passed").length;
  const skipped = outcomes.filter((o) => o.state === "skipped").length;
  const failed = outcomes.filter((o) => o.state === "failed");
  const total = outcomes.length - skipped;
  passedTotal += passed;
  testsTotal += total;

  let status: string;
  if (loadErrors.length > 0) status = red("✘ a test file does not load");
  else if (outcomes.length === 0) status = red("no tests found");
  else if (failed.length === 0 && passed > 0) {
    status = green("✔ done");
    lessonsDone++;
  } else if (passed === 0) status = dim("not started");
  else status = yellow(`${passed} of ${total} tests`);
  if (skipped > 0) status += dim(` (${skipped} skipped: a tool is missing)`);
  console.log(`  ${lesson.number}  ${lesson.title.padEnd(40)} ${status}`);

  const [loadError] = loadErrors;
  const [failure] = failed;
  let candidate: NextUp | undefined;
  if (loadError) {
    candidate = {
      lesson: lesson.name,
      headline: "A test file cannot load your code: fix this first.",
      file: undefined,
      message: loadError.message,
      step: undefined,
    };
  } else if (failure) {
    candidate = { ...failure, headline: failure.name, message: failure.message ?? "" };
  }
  if (candidate === undefined) continue;
  const rank = nextUpRank(lesson.name, loadError !== undefined, passed > 0);
  if (rank < nextRank) {
    next = candidate;
    nextRank = rank;
  }
}

// A test file that does not load contributes no tests, so the total says so rather than shrink.
const unloaded = run.errors.filter((e) => e.lesson !== undefined).length;
const uncounted =
  unloaded > 0 ? red(` (+ ${unloaded} test file${unloaded === 1 ? "" : "s"} not loaded)`) : "";
console.log(
  `\n  ${progressBar(passedTotal, testsTotal)}  ${passedTotal}/${testsTotal} tests${uncounted}, ${lessonsDone}/${lessons.length} lessons\n`,
);

for (const error of run.errors.filter((e) => e.lesson === undefined)) {
  console.log(red(`  ${error.message}\n`));
}

if (next) {
  const short = next.lesson.slice(0, "lesson-NN".length);
  const message = next.message.split("\n").slice(0, 6).join("\n      ");
  console.log(bold("Next up"));
  console.log(`  ${next.headline}`);
  if (next.file) console.log(`  ${dim(next.file)}`);
  console.log(`      ${red(message)}`);
  console.log(`\n  Read:  ${cyan(readmeSection(next.lesson, next.step))}`);
  console.log(`  Edit:  ${cyan(`exercises/${next.lesson}/`)}`);
  console.log(`  Test:  ${cyan(`npm test -- ${short}`)}   (watches your files and re-runs)`);
  console.log(
    `  Stuck? The hints at the end of the README open one at a time: ${cyan(`lessons/${next.lesson}/README.md#hints`)}\n`,
  );
} else if (focus !== undefined) {
  console.log(green(bold(`${focus} passes. Well done!`)));
  console.log(`Compare your code with the reference: ${cyan(`npm run compare -- ${focus}`)}\n`);
} else if (testsTotal > 0) {
  console.log(green(bold("Every lesson passes. Well done!")));
  console.log(`Compare your code with the reference: ${cyan("npm run compare -- lesson-01")}\n`);
}

// Failing tests are where a learner is, not an error of this command (vitest sets the exit code).
process.exitCode = 0;
