// npm run compare -- <lesson>: your exercise files beside the reference, as a diff.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";

const args = parseArgs(process.argv.slice(2));
const lesson = findLesson(args.positional[0]);
const mine = path.join("exercises", lesson.name);
const reference = path.join("solutions", lesson.name);
for (const dir of [mine, reference]) {
  if (!existsSync(path.join(ROOT, dir))) {
    console.error(`${dir} does not exist.`);
    process.exit(1);
  }
}

console.log(`Lines starting with - are yours (${mine}); + are the reference (${reference}).\n`);
// git can diff any two folders, in or out of a repository, with colour when the terminal has it.
const result = spawnSync(
  "git",
  ["diff", "--no-index", "--color=auto", "--stat", "--patch", "--", mine, reference],
  { cwd: ROOT, stdio: "inherit" },
);
if (result.error) {
  console.error("git is needed to show the diff: https://git-scm.com/downloads");
  process.exit(1);
}
// git diff exits 1 when the folders differ, which is the expected case here.
if (result.status === 0) console.log("Your files are the same as the reference.");
