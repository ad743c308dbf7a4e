// npm run bench -- <lesson> [--solution] [--option value ...]: runs a lesson's benchmark against
// your code, or with --solution against the reference, as `npm run serve` does. A lesson's own
// options (lesson.json's "benchOptions", such as lesson 12's --rtt) reach its bench as JSON in
// the environment, COURSE_BENCH_OPTIONS: `{"rtt":"150"}`.
//
// A benchmark imports the code it measures as `#lesson/...`, which points at exercises/ unless
// Node runs with the `solutions` condition (see "imports" in package.json). So --solution starts
// this script again, in the same Node with the same loader, with `--conditions=solutions` added:
// no shell syntax, the same on every OS.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";

// The lesson first (it is the first word, or --help), for the options it takes.
const named = process.argv.slice(2).find((arg) => !arg.startsWith("--"));
const options = named === undefined ? {} : (findLesson(named).benchOptions ?? {});
const args = parseArgs(process.argv.slice(2), {
  usage:
    "npm run bench -- <lesson> [--solution]" +
    Object.entries(options)
      .map(([name, what]) => `\n  --${name} <value>  ${what}`)
      .join(""),
  flags: ["solution"],
  values: Object.keys(options),
});
const lesson = findLesson(args.positional[0]);
process.env.COURSE_BENCH_OPTIONS = JSON.stringify(Object.fromEntries(args.values));
const short = `lesson-${lesson.number}`;
if (!lesson.bench) {
  console.log(`${lesson.name} has no benchmark.`);
  process.exit(0);
}

const solution = args.flags.has("solution");
const CONDITION = "--conditions=solutions";
if (solution && !process.execArgv.includes(CONDITION)) {
  const script = process.argv[1] as string;
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, CONDITION, script, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}

const tree = solution ? "solutions" : "exercises";
const whose = solution ? "the reference solution" : "your code";
console.log(`${lesson.name}: ${lesson.title}, measured on ${whose} (${tree}/${lesson.name}/)`);
if (!solution)
  console.log(`To measure the reference instead: npm run bench -- ${short} --solution`);
console.log("");

/**
 * A stub's error ends the benchmark with one line that says which function and which step, wherever
 * it was thrown: in the benchmark itself, or in a socket handler or a timer of the code it runs.
 */
function stopOn(err: unknown): never {
  const e = err as {
    code?: unknown;
    lesson?: unknown;
    fn?: unknown;
    step?: unknown;
    message?: unknown;
  };
  if (e?.code === "COURSE_NOT_IMPLEMENTED") {
    // The stub may be an earlier lesson's: a benchmark can put its rows beside that lesson's.
    const stubLesson = typeof e.lesson === "string" ? e.lesson : lesson.name;
    const stubShort = `lesson-${stubLesson.slice("lesson-".length, "lesson-".length + 2)}`;
    console.error(
      `Your code is not written yet: ${String(e.fn)} (${String(e.step)} in lessons/${stubLesson}/README.md).`,
    );
    console.error(
      `Finish ${stubShort} first (npm start -- ${stubShort} says what is left), or measure the reference: npm run bench -- ${short} --solution`,
    );
  } else if (!solution) {
    console.error(`Your code failed during the benchmark: ${String(e?.message ?? err)}`);
    const frame = (err as Error)?.stack?.split("\n").find((line) => line.includes("exercises"));
    if (frame) console.error(frame.trim());
    console.error(`Its tests show what is wrong: npm test -- ${short}`);
  } else {
    console.error(err);
  }
  process.exit(1);
}
process.on("uncaughtException", stopOn);
process.on("unhandledRejection", stopOn);

try {
  await import(pathToFileURL(path.join(ROOT, "lessons", lesson.name, lesson.bench)).href);
} catch (err) {
  stopOn(err);
}
