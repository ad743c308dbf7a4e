// npm run check: the course verifies itself.
//
//   1. lint and format       eslint, prettier --check
//   2. types                 tsc against the exercises and against the solutions
//   3. solutions             the whole suite against solutions/: every test must pass
//   4. stubs                 the whole suite against the stubs as committed: every test must fail
//
// Step 4 is what makes a test trustworthy: a test that passes on an untouched stub cannot tell a
// learner anything. The stubs come from git, so the verdict is the same in a learner's clone
// with half-done exercises.
import path from "node:path";
import { runBin } from "./lib/bin.ts";
import { ROOT } from "./lib/lessons.ts";
import { materializeStubs } from "./lib/pristine.ts";
import { bold, dim, green, red, spinner } from "./lib/style.ts";
import { runSuite, type Outcome } from "./lib/suite.ts";
import { STUBS_DIR } from "../vitest.config.ts";

const started = performance.now();
const problems: string[] = [];
const summary: string[] = [];

function seconds(since: number): string {
  return dim(`${((performance.now() - since) / 1000).toFixed(1)} s`);
}

interface ToolRun {
  label: string;
  run: Promise<{ code: number; output: string; seconds: string }>;
}

function tool(label: string, pkg: string, bin: string, args: string[]): ToolRun {
  const started = performance.now();
  return { label, run: runBin(pkg, bin, args).then((r) => ({ ...r, seconds: seconds(started) })) };
}

/** Waits for a tool started with tool(), prints its verdict, and says whether it passed. */
async function verdict({ label, run }: ToolRun): Promise<boolean> {
  const { code, output, seconds } = await run;
  console.log(`${code === 0 ? green("✔") : red("✘")} ${label} ${seconds}`);
  if (code !== 0) {
    console.log(output.trimEnd().replace(/^/gm, "    "));
    problems.push(label);
  }
  return code === 0;
}

// 1 and 2. Lint, format and types: independent, so they run side by side.
const stopTools = spinner(() => "lint, format and types…");
const lintRun = tool("lint (eslint)", "eslint", "eslint", ["."]);
const formatRun = tool("format (prettier --check)", "prettier", "prettier", [
  "--check",
  "--log-level=warn",
  ".",
]);
const typesExRun = tool("types, exercises target", "typescript", "tsc", ["-p", "tsconfig.json"]);
const typesSolRun = tool("types, solutions target", "typescript", "tsc", [
  "-p",
  "tsconfig.solutions.json",
]);
await Promise.all([lintRun, formatRun, typesExRun, typesSolRun].map((t) => t.run));
stopTools();
const lint = await verdict(lintRun);
const format = await verdict(formatRun);
const typesEx = await verdict(typesExRun);
const typesSol = await verdict(typesSolRun);
summary.push(`lint and format   ${lint && format ? "ok" : red("problems above")}`);
summary.push(
  `types             ${typesEx && typesSol ? "ok (exercises, solutions)" : red("problems above")}`,
);

// 3. The suite against the reference solutions: all must pass.
let t = performance.now();
let finished = 0;
let stop = spinner(() => `tests against solutions/… ${finished} done`);
const solutions = await runSuite({ mode: "solutions", onProgress: (n) => (finished = n) });
stop();
const solPassed = solutions.outcomes.filter((o) => o.state === "passed");
const solSkipped = solutions.outcomes.filter((o) => o.state === "skipped");
const solFailed = solutions.outcomes.filter((o) => o.state === "failed" || o.state === "pending");
const solOk = solFailed.length === 0 && solutions.errors.length === 0 && solPassed.length > 0;
console.log(
  `${solOk ? green("✔") : red("✘")} tests against solutions/: ${solPassed.length} of ${solutions.outcomes.length} pass ${seconds(t)}`,
);
for (const o of solFailed)
  console.log(
    `    ${red(o.state)}  ${o.file} > ${o.name}\n      ${(o.message ?? "").split("\n").join("\n      ")}`,
  );
for (const e of solutions.errors) console.log(`    ${red("error")}  ${e.message}`);
if (solSkipped.length > 0) {
  console.log(
    dim(`    ${solSkipped.length} skipped because an outside tool is missing (CI runs them all):`),
  );
  for (const o of solSkipped) console.log(dim(`      ${o.name}`));
}
if (!solOk) problems.push("tests against solutions/");
summary.push(
  `solutions         ${solPassed.length} of ${solutions.outcomes.length} tests pass` +
    (solSkipped.length ? `, ${solSkipped.length} skipped (a tool is missing)` : ""),
);

// 4. The same suite against the untouched stubs: every single test must fail.
t = performance.now();
const stubsDir = path.join(ROOT, STUBS_DIR);
const { ref, uncommitted } = materializeStubs(stubsDir);
finished = 0;
stop = spinner(() => `tests against the stubs… ${finished} done`);
const stubs = await runSuite({ mode: "stubs", onProgress: (n) => (finished = n) });
stop();
const byId = (o: Outcome): string => `${o.file} > ${o.name}`;
const stubState = new Map(stubs.outcomes.map((o) => [byId(o), o.state]));
const passedOnStub = stubs.outcomes.filter((o) => o.state === "passed");
const notRun = solutions.outcomes.filter(
  (o) => !stubState.has(byId(o)) || stubState.get(byId(o)) === "skipped",
);
const stubsFailed = stubs.outcomes.filter((o) => o.state === "failed").length;
const stubOk = passedOnStub.length === 0 && notRun.length === 0;
const source = ref ? `as committed at ${ref.slice(0, 7)}` : "from the working tree (no git)";
console.log(
  `${stubOk ? green("✔") : red("✘")} tests against the stubs ${dim(source)}: ${passedOnStub.length} of ${stubs.outcomes.length} pass ${seconds(t)}`,
);
for (const file of uncommitted)
  console.log(
    dim(`    ${file} is not in the committed stubs: checked as it is in the working tree`),
  );
for (const o of passedOnStub) console.log(`    ${red("passes on a stub")}  ${byId(o)}`);
for (const o of notRun) console.log(`    ${red("did not run on the stubs")}  ${byId(o)}`);
if (!stubOk) problems.push("tests against the stubs");
summary.push(
  `stubs             ${passedOnStub.length} of ${stubs.outcomes.length} tests pass (each must fail), ${stubsFailed} fail`,
);

// Summary.
console.log(bold("\nSummary"));
for (const line of summary) console.log(`  ${line}`);
const total = ((performance.now() - started) / 1000).toFixed(1);
// vitest's Node API sets process.exitCode when tests fail, as they must on the stubs: the verdict
// here is the check's own.
process.exitCode = problems.length === 0 ? 0 : 1;
if (problems.length === 0) {
  console.log(green(`\nThe course checks out in ${total} s.`));
} else {
  console.log(red(`\nFailed: ${problems.join(", ")} (${total} s).`));
}
console.log(
  `check: ${solPassed.length} passed, ${solFailed.length + passedOnStub.length + notRun.length} failed`,
);
