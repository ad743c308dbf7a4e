// npm run check: the course verifies itself.
//
//   0. stubs                 the exercises as committed, copied out of git into .course/stubs
//   1. lint and format       eslint, prettier --check
//   2. types                 tsc against the stubs and against the solutions
//   3. solutions             the whole suite against solutions/: every test must pass
//   4. lessons               lesson.json, mirrored files, README steps, hints.md for each step
//   5. stubs                 the whole suite against the stubs: every test must fail
//
// Step 5 is what makes a test trustworthy: a test that passes on an untouched stub cannot tell a
// learner anything. Every step reads the stubs from git rather than exercises/, where a learner's
// answers are, so the verdict is the same in a learner's clone with half-done exercises.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { runBin } from "./lib/bin.ts";
import { ROOT } from "./lib/lessons.ts";
import { changedFiles, materializeStubs } from "./lib/pristine.ts";
import { bold, dim, green, red, spinner } from "./lib/style.ts";
import { runSuite, type Outcome } from "./lib/suite.ts";
import { validateLessons } from "./lib/validate.ts";
import { STUBS_DIR } from "../vitest.config.ts";

const started = performance.now();
/** What failed, by step: the check passes when this stays empty. */
const problems: string[] = [];
/** How many tests or tools gave the wrong answer, for the closing count. */
let failures = 0;
const summary: string[] = [];

function seconds(since: number): string {
  return dim(`${((performance.now() - since) / 1000).toFixed(1)} s`);
}

// 0. The stubs as committed, and a type-check target that points `#lesson/*` at them.
const stubsDir = path.join(ROOT, STUBS_DIR);
const { ref, uncommitted } = materializeStubs(stubsDir);
const stubsTsconfig = path.join(ROOT, ".course", "tsconfig.stubs.json");
writeFileSync(
  stubsTsconfig,
  JSON.stringify(
    {
      extends: "../tsconfig.json",
      compilerOptions: { paths: { "#lesson/*": [`./${path.basename(STUBS_DIR)}/*`] } },
      include: [
        "../lessons",
        `./${path.basename(STUBS_DIR)}`,
        "../shared",
        "../scripts",
        "../*.ts",
      ],
    },
    null,
    2,
  ),
);
const source = ref ? `as committed at ${ref.slice(0, 7)}` : "from the working tree (no git)";
console.log(dim(`Stubs: exercises/ ${source}.`));
for (const file of uncommitted) {
  console.log(dim(`  ${file} is not committed yet: checked as it is in the working tree.`));
}
if (ref && changedFiles("exercises").length > 0) {
  console.log(
    dim("  exercises/ has uncommitted changes; they are not checked (commit a stub to check it)."),
  );
}

// 1 and 2. Lint, format and types: independent, so they run side by side.
interface ToolRun {
  label: string;
  run: Promise<{ code: number; output: string; seconds: string }>;
}

function tool(label: string, pkg: string, bin: string, args: string[]): ToolRun {
  const t = performance.now();
  return { label, run: runBin(pkg, bin, args).then((r) => ({ ...r, seconds: seconds(t) })) };
}

/** Waits for a tool started with tool(), prints its verdict, and says whether it passed. */
async function verdict({ label, run }: ToolRun): Promise<boolean> {
  const { code, output, seconds } = await run;
  console.log(`${code === 0 ? green("✔") : red("✘")} ${label} ${seconds}`);
  if (code !== 0) {
    // A stub's problem is reported where the maintainer edits it.
    const shown = output.replace(/\.course[\\/]stubs[\\/]/g, "exercises/");
    console.log(shown.trimEnd().replace(/^/gm, "    "));
    problems.push(label);
    failures++;
  }
  return code === 0;
}

const stopTools = spinner("lint, format and types");
const lintRun = tool("lint (eslint)", "eslint", "eslint", [".", "--ignore-pattern", "exercises/"]);
const formatRun = tool("format (prettier --check)", "prettier", "prettier", [
  "--check",
  "--log-level=warn",
  "--ignore-path",
  ".prettierignore",
  ".",
  "!exercises/**",
]);
const typesStubsRun = tool("types, stubs target", "typescript", "tsc", ["-p", stubsTsconfig]);
const typesSolutionsRun = tool("types, solutions target", "typescript", "tsc", [
  "-p",
  "tsconfig.solutions.json",
]);
await Promise.all([lintRun, formatRun, typesStubsRun, typesSolutionsRun].map((r) => r.run));
stopTools();
const lint = await verdict(lintRun);
const format = await verdict(formatRun);
const typesStubs = await verdict(typesStubsRun);
const typesSolutions = await verdict(typesSolutionsRun);
summary.push(`lint and format   ${lint && format ? "ok" : red("problems above")}`);
summary.push(
  `types             ${typesStubs && typesSolutions ? "ok (stubs, solutions)" : red("problems above")}`,
);

// 3. The suite against the reference solutions: all must pass.
let t = performance.now();
let finished = 0;
let stop = spinner("tests against solutions/", () => `${finished} done`);
const solutions = await runSuite({ mode: "solutions", onProgress: (n) => (finished = n) });
stop();
const solPassed = solutions.outcomes.filter((o) => o.state === "passed");
const solSkipped = solutions.outcomes.filter((o) => o.state === "skipped");
const solFailed = solutions.outcomes.filter((o) => o.state === "failed" || o.state === "pending");
const solOk = solFailed.length === 0 && solutions.errors.length === 0 && solPassed.length > 0;
console.log(
  `${mark(solOk)} tests against solutions/: ${solPassed.length} of ${solutions.outcomes.length} pass ${seconds(t)}`,
);
for (const o of solFailed) {
  console.log(`    ${red(o.state)}  ${o.file} > ${o.name}`);
  console.log(`      ${(o.message ?? "").split("\n").join("\n      ")}`);
}
for (const e of solutions.errors) console.log(`    ${red("error")}  ${e.message}`);
if (solSkipped.length > 0) {
  console.log(dim(`    ${solSkipped.length} skipped: an outside tool is missing (CI runs them):`));
  for (const o of solSkipped) console.log(dim(`      ${o.name}`));
}
if (!solOk) problems.push("tests against solutions/");
failures += solFailed.length + solutions.errors.length;
summary.push(
  `solutions         ${solPassed.length} of ${solutions.outcomes.length} tests pass` +
    (solSkipped.length ? `, ${solSkipped.length} skipped (a tool is missing)` : "") +
    (solutions.errors.length ? red(`, ${solutions.errors.length} error(s) outside any test`) : ""),
);

// What the scripts and the dashboard rely on in each lesson besides its tests.
const lessonProblems = validateLessons(solutions.outcomes);
console.log(
  `${mark(lessonProblems.length === 0)} lessons: lesson.json, mirrored files, README steps and hints`,
);
for (const problem of lessonProblems) console.log(`    ${red(problem)}`);
if (lessonProblems.length > 0) problems.push("lessons");
failures += lessonProblems.length;
summary.push(
  `lessons           ${lessonProblems.length === 0 ? "ok" : red(`${lessonProblems.length} problem(s) above`)}`,
);

// 5. The same suite against the untouched stubs: every test that passed above must fail.
t = performance.now();
finished = 0;
stop = spinner("tests against the stubs", () => `${finished} done`);
const stubs = await runSuite({ mode: "stubs", onProgress: (n) => (finished = n) });
stop();
const byId = (o: Outcome): string => `${o.file} > ${o.name}`;
const stubState = new Map(stubs.outcomes.map((o) => [byId(o), o.state]));
const passedOnStub = stubs.outcomes.filter((o) => o.state === "passed");
const notRun = solPassed.filter((o) => (stubState.get(byId(o)) ?? "skipped") === "skipped");
const stubsFailed = stubs.outcomes.filter((o) => o.state === "failed").length;
const stubOk = passedOnStub.length === 0 && notRun.length === 0;
console.log(
  `${mark(stubOk)} tests against the stubs: ${passedOnStub.length} of ${stubs.outcomes.length} pass ${seconds(t)}`,
);
for (const o of passedOnStub) console.log(`    ${red("passes on a stub")}  ${byId(o)}`);
for (const e of stubs.errors) console.log(`    ${red("error")}  ${e.message}`);
for (const o of notRun) console.log(`    ${red("did not run on the stubs")}  ${byId(o)}`);
if (!stubOk) problems.push("tests against the stubs");
failures += passedOnStub.length + notRun.length;
summary.push(
  `stubs             ${passedOnStub.length} of ${stubs.outcomes.length} tests pass (each must fail), ${stubsFailed} fail`,
);

// Summary.
console.log(bold("\nSummary"));
for (const line of summary) console.log(`  ${line}`);
const total = ((performance.now() - started) / 1000).toFixed(1);
if (problems.length === 0) console.log(green(`\nThe course checks out in ${total} s.`));
else console.log(red(`\nFailed: ${problems.join(", ")} (${total} s).`));
// One line for CI: the solution tests that passed, and everything that went wrong.
console.log(`check: ${solPassed.length} passed, ${failures} failed`);
// vitest's Node API sets process.exitCode when tests fail, as they must on the stubs: the verdict
// here is the check's own.
process.exitCode = problems.length === 0 ? 0 : 1;

function mark(ok: boolean): string {
  return ok ? green("✔") : red("✘");
}
