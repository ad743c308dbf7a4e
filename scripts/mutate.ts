// npm run mutate -- <lesson>: mutation testing of a lesson's reference with the lesson's own tests.
//
// Stryker changes the reference one small piece at a time (a `<` for a `<=`, a condition forced to
// true, a call removed) and runs the lesson's tests against each change. A change no test notices
// is a "survivor": either the tests miss a behaviour, or the change makes no difference a learner
// could observe. The score is the share of changes the tests catch; the course aims at 90 % or
// more for every lesson. String literals are left alone: the tests assert codes, not wording.
//
// It is a maintainer's tool and takes minutes, so it is not part of `npm run check`. The HTML
// report goes to .course/mutation/<lesson>.html.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";

const usage = "npm run mutate -- <lesson> [file.ts] [--concurrency N]";
const args = parseArgs(process.argv.slice(2), { usage, values: ["concurrency"] });
const lesson = findLesson(args.positional[0]);
const only = args.positional[1];
const concurrency = args.values.get("concurrency") ?? "1";
if (!/^[1-9]\d*$/.test(concurrency)) {
  console.error(
    `--concurrency takes a whole number, not ${JSON.stringify(concurrency)}.\n${usage}`,
  );
  process.exit(2);
}

const outDir = path.join(ROOT, ".course", "mutation");
mkdirSync(outDir, { recursive: true });
const config = {
  $schema: "../../node_modules/@stryker-mutator/core/schema/stryker-schema.json",
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.config.ts" },
  mutate: [`solutions/${lesson.name}/${only ?? "**/*.ts"}`],
  mutator: { excludedMutations: ["StringLiteral"] },
  // Stryker's own coverage analysis runs only the tests that reach each mutant.
  coverageAnalysis: "perTest",
  concurrency: Number(concurrency),
  timeoutMS: 10_000,
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: path.join(outDir, `${lesson.name}.html`) },
  tempDirName: path.join(".course", "stryker-tmp"),
  cleanTempDir: "always",
};
const configFile = path.join(outDir, `${lesson.name}.stryker.json`);
writeFileSync(configFile, JSON.stringify(config, null, 2));

const stryker = path.join(ROOT, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js");
const result = spawnSync(process.execPath, [stryker, "run", configFile], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, COURSE_TARGET: "solutions", COURSE_LESSON: lesson.name },
});
process.exitCode = result.status ?? 1;
