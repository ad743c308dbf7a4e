// npm run hint [-- <lesson>] [--step N] [--again]: the next hint for the step you are on.
//
// The step you are on is the first one with a failing test in exercises/. Each call shows one hint
// more, from a nudge to nearly the answer, and remembers in .course/hints.json how many it has
// shown, so the next call goes on where this one stopped. Without a lesson, it is the lesson you
// are in the middle of, as `npm start` picks it.
import { parseArgs } from "./lib/args.ts";
import { hintsFile, readHints, readShown, writeShown, type HintStep } from "./lib/hints.ts";
import { findLesson, listLessons, type Lesson } from "./lib/lessons.ts";
import { changedSincePublished } from "./lib/pristine.ts";
import {
  lessonUnderWay,
  progressOf,
  stepIsKnown,
  stepUnderWay,
  type LessonProgress,
} from "./lib/progress.ts";
import { readmeSection } from "./lib/readme.ts";
import { bold, cyan, dim, green, spinner } from "./lib/style.ts";
import { runSuite } from "./lib/suite.ts";

const usage = "npm run hint [-- <lesson>] [--step N] [--again]";
const args = parseArgs(process.argv.slice(2), { usage, flags: ["again"], values: ["step"] });
const askedStep = args.values.get("step");
if (askedStep !== undefined && !/^[1-9]\d*$/.test(askedStep)) {
  console.error(`--step takes a step number, not ${JSON.stringify(askedStep)}.\nUsage: ${usage}`);
  process.exit(2);
}
const again = args.flags.has("again");
/** A lesson's tests take seconds; half-written code that leaves tests waiting must not hold a hint. */
const HINT_DEADLINE_MS = 45_000;

/**
 * Runs the tests of the lessons that could be under way, quietly, and returns where the learner
 * is. Without a lesson named, only lessons whose exercises differ from the course as published
 * can have a passing test (every test fails on the untouched stubs: `npm run check` sees to it),
 * so only those run; an untouched lesson counts as not started.
 */
async function whereTheLearnerIs(named: Lesson | undefined): Promise<LessonProgress | undefined> {
  const lessons = listLessons();
  const changed = changedSincePublished("exercises");
  const touched = (l: Lesson): boolean =>
    changed === undefined || changed.some((file) => file.split("/")[1] === l.name);
  const toRun = (named ? [named] : lessons).filter(touched);
  let progress: LessonProgress[] = [];
  if (toRun.length > 0) {
    let finished = 0;
    const stop = spinner("Finding the step you are on", () => `${finished} tests`);
    try {
      const filters = toRun.map((l) => l.name);
      // A test still waiting when time is up counts as not passing, which is all a hint needs;
      // and with one lesson to run, the run ends as soon as the step under way is known.
      const [only] = toRun;
      const steps = toRun.length === 1 && only ? readHints(only.name)?.steps : undefined;
      const numbers = steps?.map((s) => s.number) ?? [];
      const run = await runSuite({
        filters,
        deadlineMs: HINT_DEADLINE_MS,
        onProgress: (n) => (finished = n),
        stopWhen: steps ? (outcomes) => stepIsKnown(outcomes, numbers) : undefined,
      });
      progress = progressOf(toRun, run);
    } finally {
      stop();
    }
  }
  // An untouched lesson is not started, whatever its tests would say.
  const all = (named ? [named] : lessons).map(
    (lesson): LessonProgress =>
      progress.find((p) => p.lesson === lesson) ?? {
        lesson,
        outcomes: [],
        loadErrors: [],
        lateErrors: [],
        passed: 0,
        skipped: 0,
        failed: [],
        state: "not started",
      },
  );
  return named ? all[0] : lessonUnderWay(all);
}

const named = args.positional[0] === undefined ? undefined : findLesson(args.positional[0]);
// A lesson without hints is said at once, before any test runs.
if (named) loadHints(named);
const { lesson, step } = await chooseStep();

/** The step asked for with --step, else the step under way, in the lesson named or under way. */
async function chooseStep(): Promise<{ lesson: Lesson; step: HintStep }> {
  if (named && askedStep !== undefined) {
    return { lesson: named, step: stepOrExit(named, loadHints(named).steps, Number(askedStep)) };
  }
  const progress = await whereTheLearnerIs(named);
  if (!progress) {
    console.log(green("Every lesson passes: there is no step left to hint at."));
    console.log(`For one step's hints: ${cyan("npm run hint -- lesson-NN --step N")}`);
    process.exit(0);
  }
  const steps = loadHints(progress.lesson).steps;
  const n =
    askedStep !== undefined
      ? Number(askedStep)
      : stepUnderWay(
          progress,
          steps.map((s) => s.number),
        );
  if (n === undefined) {
    const short = shortName(progress.lesson);
    console.log(
      green(`Every step of ${progress.lesson.name} passes: there is no step left to hint at.`),
    );
    console.log(`For one step's hints: ${cyan(`npm run hint -- ${short} --step N`)}`);
    process.exit(0);
  }
  return { lesson: progress.lesson, step: stepOrExit(progress.lesson, steps, n) };
}

const shown = readShown();
const seen = Math.min(shown[lesson.name]?.[String(step.number)] ?? 0, step.hints.length);
const short = shortName(lesson);
const command = `npm run hint -- ${short}${askedStep !== undefined ? ` --step ${step.number}` : ""}`;
const stepName = `Step ${step.number}: ${step.title}`;

if (again && seen === 0) {
  console.log(`No hint for ${stepName} has been shown yet.`);
  console.log(`The first one: ${cyan(command)}`);
  process.exit(0);
}
if (!again && seen === step.hints.length) {
  console.log(
    `You have seen all ${count(step.hints.length, "hint")} for ${bold(stepName)} (${lesson.name}).`,
  );
  console.log(`  Read the step again:         ${cyan(readmeSection(lesson.name, stepName))}`);
  console.log(`  Compare with the reference:  ${cyan(`npm run compare -- ${short}`)}`);
  console.log(`  The last hint again:         ${cyan(`${command} --again`)}`);
  console.log(`  Every hint at once:          ${cyan(hintsFile(lesson.name))}`);
  process.exit(0);
}

const index = again ? seen - 1 : seen;
const hint = step.hints[index] as HintStep["hints"][number];
if (!again) {
  shown[lesson.name] = { ...shown[lesson.name], [String(step.number)]: index + 1 };
  writeShown(shown);
}
console.log(
  `${bold(`hint ${index + 1} of ${step.hints.length} for ${stepName}`)}  ${dim(`(${lesson.name})`)}`,
);
console.log(bold(`\n${hint.title}\n`));
console.log(hint.body);
console.log("");
const left = step.hints.length - (index + 1);
if (left > 0) {
  const which = left === 1 ? "the last one, nearly the answer" : `${left} more`;
  console.log(`Next hint (${which}): ${cyan(command)}`);
} else {
  console.log(
    `That was the last hint for this step. Still stuck? Compare with the reference: ${cyan(`npm run compare -- ${short}`)}`,
  );
}
console.log(
  dim(
    `This one again: ${command} --again · another step: npm run hint -- ${short} --step N · all hints: ${hintsFile(lesson.name)}`,
  ),
);

function loadHints(of: Lesson): { steps: HintStep[] } {
  const parsed = readHints(of.name);
  if (!parsed || parsed.steps.length === 0) {
    console.error(`${of.name} has no hints yet (${hintsFile(of.name)}).`);
    console.error(`Its README explains each step: lessons/${of.name}/README.md`);
    process.exit(1);
  }
  return parsed;
}

function stepOrExit(of: Lesson, steps: HintStep[], n: number): HintStep {
  const found = steps.find((s) => s.number === n);
  if (found) return found;
  console.error(`${hintsFile(of.name)} has no hints for Step ${n}. Its steps:`);
  for (const s of steps) console.error(`  --step ${s.number}  ${s.title}`);
  process.exit(2);
}

function shortName(of: Lesson): string {
  return `lesson-${of.number}`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
