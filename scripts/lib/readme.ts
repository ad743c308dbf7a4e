import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lessons.ts";

/** The anchor GitHub gives a Markdown heading: "Step 2: Frame it" -> "step-2-frame-it". */
export function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/**
 * Where to read about a failing test: the README heading that starts with the same "Step N" as
 * the test's top-level describe block, as `lessons/<lesson>/README.md#step-n-...`.
 */
export function readmeSection(lesson: string, step: string | undefined): string {
  const readme = `lessons/${lesson}/README.md`;
  const number = step?.match(/^Step (\d+)\b/)?.[1];
  const file = path.join(ROOT, readme);
  if (number === undefined || !existsSync(file)) return readme;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const heading = line.match(/^#{2,3} (Step (\d+)\b.*)$/);
    if (heading?.[2] === number) return `${readme}#${anchor(heading[1] as string)}`;
  }
  return readme;
}
