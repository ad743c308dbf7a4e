// npm run compare -- <lesson> [file] [--code]: your exercise files beside the reference, as a diff.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";
import { changedFiles } from "./lib/pristine.ts";

const args = parseArgs(process.argv.slice(2), {
  usage: "npm run compare -- <lesson> [file] [--code]",
  flags: ["code"],
});
// --code: leave out the changes whose every line is a comment (your deleted TODOs, the reference's
// explanations), so the differences in what runs stand out. The pattern has no `$`: with one, git
// 2.39 hid every change, code too.
const codeOnly = args.flags.has("code");
const COMMENT_LINE = String.raw`^[[:space:]]*(//|/\*|\*)`;
const lesson = findLesson(args.positional[0]);
const mine = `exercises/${lesson.name}`;
const reference = `solutions/${lesson.name}`;

/** The files to compare: the one asked for, else those you changed, else all of them. */
function filesToCompare(): string[] {
  const asked = args.positional[1];
  if (asked !== undefined) {
    const name = path.basename(asked);
    for (const dir of [mine, reference]) {
      if (!existsSync(path.join(ROOT, dir, name))) {
        console.error(`${dir} has no file ${name}.`);
        process.exit(2);
      }
    }
    return [name];
  }
  const all = readdirSync(path.join(ROOT, reference)).sort();
  // Outside a git checkout nothing counts as changed, and everything is compared.
  const changed = changedFiles(mine).map((file) => path.basename(file));
  const mineChanged = all.filter((name) => changed.includes(name));
  const untouched = all.filter((name) => !mineChanged.includes(name));
  const toWrite = untouched.filter((name) => !isGiven(name));
  if (mineChanged.length === 0) return toWrite.length > 0 ? toWrite : all;
  if (toWrite.length > 0) console.log(`Not changed yet, so not shown: ${toWrite.join(", ")}\n`);
  return mineChanged;
}

/**
 * Given code, there to build on and meant to stay as it is: a file of yours that calls no todo()
 * (types and error classes the lesson hands you), or one the same as the reference.
 */
function isGiven(name: string): boolean {
  const file = path.join(ROOT, mine, name);
  if (!existsSync(file)) return false;
  const text = readFileSync(file, "utf8");
  return !/\btodo\(/.test(text) || text === readFileSync(path.join(ROOT, reference, name), "utf8");
}

const files = filesToCompare();
console.log(`Lines starting with - are yours (${mine}); + are the reference (${reference}).`);
console.log(
  codeOnly
    ? "Changes to comments alone are left out.\n"
    : "To leave out changes to comments alone (your TODOs, the reference's notes), add --code.\n",
);
let same = 0;
for (const name of files) {
  // git can diff any two files, in or out of a repository, with colour when the terminal has it.
  const result = spawnSync(
    "git",
    [
      "diff",
      "--no-index",
      "--color=auto",
      ...(codeOnly ? [`--ignore-matching-lines=${COMMENT_LINE}`] : []),
      "--",
      `${mine}/${name}`,
      `${reference}/${name}`,
    ],
    { cwd: ROOT, stdio: "inherit" },
  );
  if (result.error) {
    console.error("git is needed to show the diff: https://git-scm.com/downloads");
    process.exit(1);
  }
  // git diff exits 1 when the files differ, which is the expected case here.
  if (result.status === 0) same++;
}
if (same === files.length) {
  const but = codeOnly ? ", comments aside" : "";
  console.log(
    `Your ${files.length === 1 ? "file is" : "files are"} the same as the reference${but}.`,
  );
}
