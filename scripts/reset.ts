// npm run reset -- <lesson> [--yes]: puts back the untouched stubs of a lesson.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";
import { filesAt, pristineRef, readAt } from "./lib/pristine.ts";

const args = parseArgs(process.argv.slice(2), {
  usage: "npm run reset -- <lesson> [--yes]",
  flags: ["yes"],
});
const lesson = findLesson(args.positional[0]);
const folder = `exercises/${lesson.name}`;
// The published course first; a lesson committed here but not yet pushed is found at HEAD.
const ref = [pristineRef("upstream"), pristineRef("HEAD")].find(
  (candidate) => candidate !== undefined && filesAt(candidate, folder).length > 0,
);
const files = ref ? filesAt(ref, folder) : [];
if (!ref || files.length === 0) {
  console.error(
    `No committed stubs for ${folder} were found in git, so there is nothing to reset to.`,
  );
  process.exit(1);
}

if (!args.flags.has("yes")) {
  if (!process.stdin.isTTY) {
    console.error(`This replaces everything in ${folder}. Run it again with --yes to go ahead.`);
    process.exit(1);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(
    `Replace everything in ${folder} with the untouched stubs? [y/N] `,
  );
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) {
    console.log("Nothing changed.");
    process.exit(0);
  }
}

// Keep a copy of what is replaced: a reset should never cost a learner their work.
const dir = path.join(ROOT, folder);
let backup: string | undefined;
if (existsSync(dir) && readdirSync(dir).length > 0) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  backup = `.course/backup/${lesson.name}-${stamp}`;
  cpSync(dir, path.join(ROOT, backup), { recursive: true });
  for (const entry of readdirSync(dir))
    rmSync(path.join(dir, entry), { recursive: true, force: true });
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
