// The half-written states of a lesson: what a learner's exercises/ looks like part of the way
// through, built from the untouched stubs (as committed in git) and the reference (solutions/).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lessons.ts";
import { filesAt, readAt } from "./pristine.ts";

/** One file of a lesson, as the stub gives it and as the reference has it. */
export interface LessonFile {
  /** The path inside the lesson's folder, with forward slashes: "server.ts". */
  name: string;
  /** The stub's bytes, as committed; undefined when exercises/ has no such file. */
  stub: Buffer | undefined;
  /** The reference's bytes, from solutions/; undefined when the reference has no such file. */
  reference: Buffer | undefined;
  /**
   * The stub's code is the reference's (comments and spacing aside): code the lesson gives, with
   * nothing to write. A stub with todo() calls or different code is a file to write.
   */
  given: boolean;
  /** The README steps this file is written in, ascending; empty for a given file. */
  steps: number[];
  /** Where `steps` came from. */
  stepsFrom: "todo()" | "TODO comments" | "nothing";
}

/** A state of the lesson's folder: the stubs with some files replaced by the reference's. */
export interface State {
  /** What the state is, for the report: "only server.ts written", "steps 1-2 written". */
  label: string;
  /** The files taken from the reference, sorted; a given file is never listed. */
  written: string[];
}

/**
 * Every file of a lesson's exercises (as committed at `ref`, or from the working tree when git has
 * none) and of its reference (as in the working tree, the code the tests' `#reference/*` reach).
 */
export function lessonFiles(lesson: string, ref: string | undefined): LessonFile[] {
  const stubs = new Map<string, Buffer>();
  const folder = `exercises/${lesson}`;
  for (const file of ref ? filesAt(ref, folder) : []) {
    stubs.set(file.slice(folder.length + 1), readAt(ref as string, file));
  }
  // A stub git does not have yet is taken as it is, as `npm run check` does.
  for (const name of walk(path.join(ROOT, folder))) {
    if (!stubs.has(name)) stubs.set(name, readFileSync(path.join(ROOT, folder, name)));
  }
  const references = new Map<string, Buffer>();
  for (const name of walk(path.join(ROOT, "solutions", lesson))) {
    references.set(name, readFileSync(path.join(ROOT, "solutions", lesson, name)));
  }
  const names = [...new Set([...stubs.keys(), ...references.keys()])].sort();
  return names.map((name) => {
    const stub = stubs.get(name);
    const reference = references.get(name);
    if (stub === undefined || reference === undefined) {
      return { name, stub, reference, given: false, steps: [], stepsFrom: "nothing" };
    }
    const text = stub.toString("utf8");
    const fromCalls = todoSteps(text);
    if (fromCalls.length > 0) {
      return { name, stub, reference, given: false, steps: fromCalls, stepsFrom: "todo()" };
    }
    const given = stub.equals(reference) || codeOf(text) === codeOf(reference.toString("utf8"));
    if (given) return { name, stub, reference, given, steps: [], stepsFrom: "nothing" };
    // A working file the learner changes (lesson 04's server starts as lesson 03's, one request
    // per connection) may say where with comments instead: `// TODO (Step 2): ...`. One that
    // names no step at all is written with the last step.
    const fromComments = [...text.matchAll(/\bTODO\b[^\n]*?\bStep (\d+)\b/g)].map((m) =>
      Number(m[1]),
    );
    if (fromComments.length > 0) {
      return {
        name,
        stub,
        reference,
        given,
        steps: unique(fromComments),
        stepsFrom: "TODO comments",
      };
    }
    return { name, stub, reference, given, steps: [], stepsFrom: "nothing" };
  });
}

/**
 * The step numbers named by the `todo(lesson, fn, "Step N")` calls in a stub's source. Comments and
 * strings are skipped, so a comment that mentions `todo(...)` names nothing; a call whose step is
 * not a literal `Step N` names nothing either.
 */
export function todoSteps(source: string): number[] {
  const masked = mask(source, { strings: true });
  const steps: number[] = [];
  for (const call of masked.matchAll(/(?<![\w$.])todo\s*\(/g)) {
    const open = call.index + call[0].length - 1;
    const step = /["'`]Step (\d+)["'`]/.exec(source.slice(open, callEnd(masked, open)));
    if (step) steps.push(Number(step[1]));
  }
  return unique(steps);
}

/** A source's code without its comments and spacing, to tell a given file from one to write. */
function codeOf(source: string): string {
  return mask(source, { strings: false }).replace(/\s+/g, "");
}

/**
 * `source` with its comments blanked out, and the insides of its string literals too if asked, so
 * that what is left can be searched as code. Positions stay where they were.
 */
function mask(source: string, options: { strings: boolean }): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    let end: number;
    if (c === "/" && source[i + 1] === "/") {
      end = source.indexOf("\n", i);
      if (end === -1) end = source.length;
      out += " ".repeat(end - i);
    } else if (c === "/" && source[i + 1] === "*") {
      end = source.indexOf("*/", i + 2);
      end = end === -1 ? source.length : end + 2;
      out += source.slice(i, end).replace(/[^\n]/g, " ");
    } else if (c === '"' || c === "'" || c === "`") {
      end = stringEnd(source, i);
      const inside = source.slice(i + 1, end - 1);
      out +=
        c + (options.strings ? inside.replace(/[^\n]/g, "_") : inside) + source.slice(end - 1, end);
    } else {
      end = i + 1;
      out += c;
    }
    i = end;
  }
  return out;
}

/**
 * The states to try, each once: the untouched stubs; the stubs with exactly one file written, for
 * each file there is to write; and the stubs with steps 1..k written, for k up to the step before
 * the last, where a file counts as written once every step it names is done. The full reference is
 * left out: it is what the others are measured against.
 */
export function statesOf(files: LessonFile[]): State[] {
  const toWrite = files.filter((f) => !f.given && f.reference !== undefined);
  const states: State[] = [];
  const seen = new Set<string>();
  const add = (label: string, written: string[]): void => {
    const key = [...written].sort().join("\n");
    if (seen.has(key) || written.length === toWrite.length) return;
    seen.add(key);
    states.push({ label, written: [...written].sort() });
  };
  add("nothing written (the stubs)", []);
  for (const file of toWrite) add(`only ${file.name} written`, [file.name]);
  // A file that names no step is written last: it is never part of a partial state.
  const last = Math.max(0, ...toWrite.flatMap((f) => f.steps));
  for (let k = 1; k < last; k++) {
    const written = toWrite.filter((f) => f.steps.length > 0 && Math.max(...f.steps) <= k);
    add(
      k === 1 ? "step 1 written" : `steps 1-${k} written`,
      written.map((f) => f.name),
    );
  }
  return states;
}

/**
 * Writes a state of `lesson` to `dir`/<lesson>/: each file the reference's if it is in `written`
 * (or given), the stub's otherwise. A file the stubs lack is left out unless it is written.
 */
export function materialize(
  dir: string,
  lesson: string,
  files: LessonFile[],
  written: ReadonlySet<string> | "all",
): void {
  rmSync(dir, { recursive: true, force: true });
  for (const file of files) {
    const bytes = written === "all" || written.has(file.name) ? file.reference : file.stub;
    if (bytes === undefined) continue;
    const target = path.join(dir, lesson, ...file.name.split("/"));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
}

/** The files under `dir`, as paths relative to it with forward slashes. */
function walk(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? walk(path.join(dir, entry.name), name) : [name];
  });
}

function unique(numbers: number[]): number[] {
  return [...new Set(numbers)].sort((a, b) => a - b);
}

/** The index just past the string literal that starts at `i`. */
function stringEnd(source: string, i: number): number {
  const quote = source[i];
  let j = i + 1;
  while (j < source.length && source[j] !== quote) {
    if (source[j] === "\\") j++;
    else if (quote !== "`" && source[j] === "\n") break;
    j++;
  }
  return j + 1;
}

/** The index just past the `)` that closes the `(` at `open`, in a masked source. */
function callEnd(masked: string, open: number): number {
  let depth = 0;
  for (let j = open; j < masked.length; j++) {
    if (masked[j] === "(") depth++;
    else if (masked[j] === ")" && --depth === 0) return j + 1;
  }
  return masked.length;
}
