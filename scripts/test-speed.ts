// npm run test-speed [-- <lesson> ...] [--rounds N] [--stubs]: how long each lesson's tests take.
//
// A learner runs a lesson's tests after every change, so a run should cost little more than
// vitest's own start-up. For each lesson this times whole `vitest run` processes, as a learner
// starts them: the lesson's tests against the reference (with --stubs, against the untouched
// stubs, as `npm run check` reads them), and a baseline, vitest with the project's config on one
// trivial test file that this writes into .course/. The two take turns, so that a busy moment
// slows both, and each figure is the median of its rounds. A lesson over RATIO times its baseline
// is shown in red. Timings belong to the machine they were taken on: this reports, it does not
// fail.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { parseArgs } from "./lib/args.ts";
import { runBin } from "./lib/bin.ts";
import { findLesson, listLessons, ROOT } from "./lib/lessons.ts";
import { materializeStubs } from "./lib/pristine.ts";
import { bold, dim, green, red } from "./lib/style.ts";
import { STUBS_DIR } from "../vitest.config.ts";

/** What a lesson's run may cost, in baseline runs. */
const RATIO = 3;

const usage = "npm run test-speed [-- <lesson> ...] [--rounds N] [--stubs]";
const args = parseArgs(process.argv.slice(2), { usage, flags: ["stubs"], values: ["rounds"] });
const rounds = Number(args.values.get("rounds") ?? "3");
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds takes a whole number, not ${JSON.stringify(args.values.get("rounds"))}.`);
  console.error(`Usage: ${usage}`);
  process.exit(2);
}
const mode = args.flags.has("stubs") ? "stubs" : "solutions";
const lessons = args.positional.length > 0 ? args.positional.map(findLesson) : listLessons();

const BASELINE_DIR = path.join(ROOT, ".course", "baseline");
const BASELINE = `import { expect, test } from "vitest";

test("vitest itself", () => {
  expect(1 + 1).toBe(2);
});
`;

interface Timed {
  ms: number;
  code: number;
  /** vitest's "Tests" line: "46 passed (46)". */
  tests: string;
}

async function timed(vitestArgs: string[], env?: NodeJS.ProcessEnv): Promise<Timed> {
  const started = performance.now();
  const { code, output } = await runBin(
    "vitest",
    "vitest",
    ["run", "--mode", mode, ...vitestArgs],
    {
      ...process.env,
      ...env,
    },
  );
  const ms = performance.now() - started;
  // eslint-disable-next-line no-control-regex -- vitest may colour its summary
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const tests = /^\s*Tests\s+(.+)$/m.exec(plain)?.[1]?.trim() ?? `no summary (exit ${code})`;
  return { ms, code, tests };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

if (mode === "stubs") materializeStubs(path.join(ROOT, STUBS_DIR));
mkdirSync(BASELINE_DIR, { recursive: true });
writeFileSync(path.join(BASELINE_DIR, "baseline.test.ts"), BASELINE);
const baselineEnv = {
  COURSE_BASELINE: path
    .relative(ROOT, path.join(BASELINE_DIR, "*.test.ts"))
    .split(path.sep)
    .join("/"),
};

console.log(
  dim(
    `vitest run --mode ${mode}, each lesson against a baseline run of one trivial test, ${rounds} round(s) taking turns; ` +
      `${availableParallelism()} CPU(s) (${cpus()[0]?.model.trim() ?? "unknown"}), Node ${process.version}.`,
  ),
);
const over: string[] = [];
try {
  for (const lesson of lessons) {
    const baseline: number[] = [];
    const runs: number[] = [];
    let last: Timed | undefined;
    for (let round = 0; round < rounds; round++) {
      baseline.push((await timed([], baselineEnv)).ms);
      last = await timed([`lessons/${lesson.name}/`]);
      runs.push(last.ms);
    }
    const ratio = median(runs) / median(baseline);
    const within = ratio <= RATIO;
    if (!within) over.push(`${lesson.name} ${ratio.toFixed(2)}×`);
    const failedUnexpectedly = mode === "solutions" && last?.code !== 0;
    console.log(
      `${bold(lesson.name.padEnd(28))} ${s(median(runs)).padStart(8)} against ${s(median(baseline))}: ` +
        `${(within ? green : red)(`${ratio.toFixed(2)}×`)}  ` +
        `${(failedUnexpectedly ? red : dim)(last?.tests ?? "")}  ` +
        dim(`(runs ${runs.map(s).join(", ")}; baseline ${baseline.map(s).join(", ")})`),
    );
  }
} finally {
  rmSync(BASELINE_DIR, { recursive: true, force: true });
}
console.log(
  over.length === 0
    ? green(`Every lesson within ${RATIO}× the baseline.`)
    : `${lessons.length - over.length} of ${lessons.length} lesson(s) within ${RATIO}× the baseline; over it: ${over.join(", ")}.`,
);
