// npm run bench -- <lesson>: runs a lesson's benchmark against the reference solution.
//
// The npm script starts tsx with --conditions=solutions, so `#lesson/...` imports in the
// benchmark resolve to solutions/ (see "imports" in package.json).
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "./lib/args.ts";
import { findLesson, ROOT } from "./lib/lessons.ts";

const args = parseArgs(process.argv.slice(2), { usage: "npm run bench -- <lesson>" });
const lesson = findLesson(args.positional[0]);
if (!lesson.bench) {
  console.log(`${lesson.name} has no benchmark.`);
  process.exit(0);
}
console.log(`${lesson.name}: ${lesson.title}, measured on the reference solution\n`);
await import(pathToFileURL(path.join(ROOT, "lessons", lesson.name, lesson.bench)).href);
