// npm run reset -- <lesson> [file] [--yes]: puts back the untouched stubs of a lesson, or one of them.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "./lib/args.ts";
import { forgetShown } from "./lib/hints.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";
import { filesAt, pristineRef, readAt } from "./lib/pristine.ts";

const args = parseArgs(process.argv.slice(2), {
  usage: "npm run reset -- <lesson> [file] [--yes]",
  flags: ["yes"],
});
const lesson = findLesson(args.positional[0]);
const folder = `exercises/${lesson.name}`;
// The published course first; a lesson committed here but not yet pushed is found at HEAD.
const ref = [pristineRef("upstream"), pristineRef("HEAD")].find(
  (candidate) => candidate !== undefined && filesAt(candidate, folder).length > 0,
);
const stubs = ref ? filesAt(ref, folder) : [];
if (!ref || stubs.length === 0) {
  console.error(
    `No committed stubs for ${folder} were found in git, so there is nothing to reset to.`,
  );
  process.exit(1);
}

/** The stubs to put back: the one file asked for, else the whole folder. */
function stubsToRestore(): string[] {
  const asked = args.positional[1];
  if (asked === undefined) return stubs;
  const file = `${folder}/${path.basename(asked)}`;
  if (!stubs.includes(file)) {
    const names = stubs.map((stub) => path.basename(stub)).join(", ");
    console.error(`${folder} has no stub ${path.basename(asked)}. Its stubs: ${names}.`);
    process.exit(2);
  }
  return [file];
}
const files = stubsToRestore();
const what =
  files.length === 1 && args.positional[1] !== undefined ? files[0] : `everything in ${folder}`;

if (!args.flags.has("yes")) {
  if (!process.stdin.isTTY) {
    console.error(`This replaces ${what}. Run it again with --yes to go ahead.`);
    process.exit(1);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(
    `Replace ${what} with the untouched stub${files.length === 1 ? "" : "s"}? [y/N] `,
  );
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) {
    console.log("Nothing changed.");
    process.exit(0);
  }
}

// Keep a copy of the folder as it was: a reset should never cost a learner their work.
const dir = path.join(ROOT, folder);
let backup: string | undefined;
if (existsSync(dir) && readdirSync(dir).length > 0) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  backup = `.course/backup/${lesson.name}-${stamp}`;
  cpSync(dir, path.join(ROOT, backup), { recursive: true });
  // A whole-lesson reset also removes files the learner added; a one-file reset touches only it.
  if (files === stubs) {
    for (const entry of readdirSync(dir))
      rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}
for (const file of files) {
  const target = path.join(ROOT, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, readAt(ref, file));
}
console.log(
  `Restored ${files.length} file${files.length === 1 ? "" : "s"} in ${folder} from ${ref.slice(0, 7)}.`,
);
if (backup) console.log(`Your previous files are in ${backup}.`);
if (files === stubs && forgetShown(lesson.name)) {
  console.log(`npm run hint -- lesson-${lesson.number} starts again from each step's first hint.`);
}
