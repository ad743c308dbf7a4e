import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lessons.ts";

/**
 * `lessons/<lesson>/hints.md`, the hints `npm run hint` shows one at a time:
 *
 *     # Hints: <lesson title>
 *
 *     ## Step 1: <the step's title exactly as in the README heading>
 *
 *     ### <short title of hint 1>
 *
 *     text of hint 1 (markdown, code blocks allowed)
 *
 * A step's hints go from a nudge to nearly the answer.
 */
export interface Hints {
  /** The text after "# Hints: ". */
  title: string;
  steps: HintStep[];
  /** What does not follow the format, one line each, with its line number. */
  problems: string[];
}

export interface HintStep {
  number: number;
  /** The text after "## Step N: ". */
  title: string;
  hints: Hint[];
}

export interface Hint {
  title: string;
  /** The hint's markdown, blank lines around it trimmed. */
  body: string;
}

export function hintsFile(lesson: string): string {
  return `lessons/${lesson}/hints.md`;
}

/** Reads a lesson's hints.md; undefined when it has none. */
export function readHints(lesson: string): Hints | undefined {
  const file = path.join(ROOT, hintsFile(lesson));
  return existsSync(file) ? parseHints(readFileSync(file, "utf8")) : undefined;
}

/**
 * How many hints of each step `npm run hint` has shown, by lesson and step number:
 * `{ "lesson-02-custom-protocol": { "3": 2 } }`, kept in .course/hints.json (not in git).
 */
export type Shown = Record<string, Record<string, number>>;
const SHOWN_FILE = path.join(ROOT, ".course", "hints.json");

export function readShown(): Shown {
  if (!existsSync(SHOWN_FILE)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(SHOWN_FILE, "utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Shown) : {};
  } catch {
    // A file damaged by hand only forgets which hints were shown.
    return {};
  }
}

export function writeShown(shown: Shown): void {
  mkdirSync(path.dirname(SHOWN_FILE), { recursive: true });
  writeFileSync(SHOWN_FILE, `${JSON.stringify(shown, null, 2)}\n`);
}

/** A lesson started over starts its hints over too. Says whether any had been shown. */
export function forgetShown(lesson: string): boolean {
  const shown = readShown();
  if (shown[lesson] === undefined) return false;
  delete shown[lesson];
  writeShown(shown);
  return true;
}

export function parseHints(text: string): Hints {
  const hints: Hints = { title: "", steps: [], problems: [] };
  let step: HintStep | undefined;
  let hint: { title: string; lines: string[] } | undefined;
  const finishHint = (): void => {
    if (!step || !hint) return;
    const body = hint.lines.join("\n").trim();
    step.hints.push({ title: hint.title, body });
    hint = undefined;
  };
  for (const { line, number, heading } of markdownLines(text)) {
    const at = `line ${number}`;
    if (heading === 1) {
      const title = line.match(/^# Hints: (.+)$/)?.[1]?.trim();
      if (number !== firstContentLine(text) || title === undefined || hints.title !== "") {
        hints.problems.push(`${at}: only the first line is a "# Hints: <lesson title>" heading`);
      } else {
        hints.title = title;
      }
      continue;
    }
    if (heading === 2) {
      finishHint();
      const match = line.match(/^## Step (\d+): (.+)$/);
      if (!match) {
        hints.problems.push(`${at}: "${line}" is not a "## Step N: <title>" heading`);
        step = undefined;
        continue;
      }
      const n = Number(match[1]);
      const previous = hints.steps.at(-1)?.number ?? 0;
      if (n <= previous) hints.problems.push(`${at}: Step ${n} comes after Step ${previous}`);
      step = { number: n, title: (match[2] as string).trim(), hints: [] };
      hints.steps.push(step);
      continue;
    }
    if (heading === 3) {
      finishHint();
      const title = line.slice("### ".length).trim();
      if (!step) hints.problems.push(`${at}: hint "${title}" is not under a "## Step N" heading`);
      hint = { title, lines: [] };
      continue;
    }
    if (heading !== undefined) {
      hints.problems.push(`${at}: use "###" for a hint's title; deeper headings are not read`);
    }
    if (hint) hint.lines.push(line);
    else if (line.trim() !== "" && step) {
      hints.problems.push(
        `${at}: text under "## Step ${step.number}" before its first "### <hint title>" would never be shown`,
      );
    }
  }
  finishHint();
  if (hints.title === "")
    hints.problems.push(`line 1: the file starts with "# Hints: <lesson title>"`);
  for (const s of hints.steps) {
    if (s.hints.length === 0)
      hints.problems.push(`Step ${s.number} has no "### <hint title>" hint`);
    for (const h of s.hints) {
      if (h.body === "") hints.problems.push(`Step ${s.number}, hint "${h.title}" has no text`);
    }
  }
  return hints;
}

/**
 * A Markdown file's lines with the level of each ATX heading (`## x` is 2), leaving out lines
 * inside fenced code blocks, where a `# comment` is code, not a heading.
 */
export function* markdownLines(
  text: string,
): Generator<{ line: string; number: number; heading: number | undefined }> {
  let fence: string | undefined;
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (const [i, line] of lines.entries()) {
    const marker = line.match(/^ {0,3}(`{3,}|~{3,})/)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
        fence = undefined;
      }
      yield { line, number: i + 1, heading: undefined };
      continue;
    }
    if (marker !== undefined) fence = marker;
    const level = fence === undefined ? line.match(/^(#{1,6}) /)?.[1]?.length : undefined;
    yield { line, number: i + 1, heading: level };
  }
}

function firstContentLine(text: string): number {
  const index = text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .findIndex((line) => line.trim() !== "");
  return index + 1;
}
