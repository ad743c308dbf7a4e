import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { hintsFile, markdownLines, readHints } from "./hints.ts";
import { listLessons, ROOT } from "./lessons.ts";
import type { Outcome } from "./suite.ts";

/**
 * What the scripts and the dashboard rely on in each lesson, beyond its tests: a valid
 * lesson.json, the same files in exercises/ and solutions/, a README with a heading for every
 * "Step N" the tests name and a short Hints section, and a hints.md with hints for each of the
 * README's steps (see hints.ts). Returns one line per problem.
 */
export function validateLessons(outcomes: Outcome[]): string[] {
  const problems: string[] = [];
  for (const lesson of listLessons()) {
    const where = (file: string): string => `lessons/${lesson.name}/${file}`;
    const manifestFile = path.join(ROOT, "lessons", lesson.name, "lesson.json");
    if (!existsSync(manifestFile)) problems.push(`${where("lesson.json")} is missing`);
    if (typeof lesson.title !== "string" || lesson.title === "") {
      problems.push(`${where("lesson.json")} needs a "title"`);
    }
    if (typeof lesson.summary !== "string" || lesson.summary === "") {
      problems.push(`${where("lesson.json")} needs a "summary"`);
    }
    const servers = Object.entries(lesson.servers ?? {}).map(([name, spec]) => ({
      key: `servers.${name}`,
      spec,
    }));
    if (lesson.server) servers.unshift({ key: "server", spec: lesson.server });
    for (const { key, spec } of servers) {
      const { module, defaultPort, try: tryLines } = spec;
      for (const tree of ["exercises", "solutions"]) {
        if (!existsSync(path.join(ROOT, tree, lesson.name, String(module)))) {
          problems.push(
            `${where("lesson.json")}: ${key}.module ${JSON.stringify(module)} is not in ${tree}/${lesson.name}/`,
          );
        }
      }
      if (!Number.isInteger(defaultPort) || defaultPort < 1 || defaultPort > 65535) {
        problems.push(`${where("lesson.json")}: ${key}.defaultPort must be a port number`);
      }
      if (!Array.isArray(tryLines))
        problems.push(`${where("lesson.json")}: ${key}.try must be a list of commands`);
    }
    if (lesson.bench && !existsSync(path.join(ROOT, "lessons", lesson.name, lesson.bench))) {
      problems.push(
        `${where("lesson.json")}: bench ${JSON.stringify(lesson.bench)} does not exist`,
      );
    }

    const files = (tree: string): string[] => {
      const dir = path.join(ROOT, tree, lesson.name);
      return existsSync(dir) ? readdirSync(dir).sort() : [];
    };
    const stubs = files("exercises");
    const reference = files("solutions");
    for (const name of reference.filter((f) => !stubs.includes(f))) {
      problems.push(`solutions/${lesson.name}/${name} has no stub in exercises/${lesson.name}/`);
    }
    for (const name of stubs.filter((f) => !reference.includes(f))) {
      problems.push(
        `exercises/${lesson.name}/${name} has no counterpart in solutions/${lesson.name}/`,
      );
    }

    const readmeFile = path.join(ROOT, "lessons", lesson.name, "README.md");
    if (!existsSync(readmeFile)) {
      problems.push(`${where("README.md")} is missing`);
      continue;
    }
    const readme = readFileSync(readmeFile, "utf8");
    const headings = [...markdownLines(readme)]
      .filter((l) => l.heading === 2 || l.heading === 3)
      .map((l) => l.line);
    problems.push(...hintProblems(lesson.name, readme));
    const steps = new Set(
      outcomes
        .filter((o) => o.lesson === lesson.name)
        .map((o) => o.step?.match(/^Step \d+\b/)?.[0]),
    );
    for (const step of steps) {
      if (step === undefined) continue;
      if (
        !headings.some(
          (h) => h.replace(/^#+ /, "").startsWith(`${step}:`) || h.replace(/^#+ /, "") === step,
        )
      ) {
        problems.push(`${where("README.md")} has no heading for "${step}", which its tests name`);
      }
    }
    if (steps.has(undefined)) {
      problems.push(
        `lessons/${lesson.name}: every test belongs in a top-level describe("Step N: ...")`,
      );
    }
  }
  return problems;
}

/**
 * Hints leave the README for hints.md, shown one at a time by `npm run hint`: in a terminal a
 * `<details>` block prints open, answer and all. Every README step has hints under the same title,
 * and hints.md has no step the README lacks.
 */
function hintProblems(lesson: string, readme: string): string[] {
  const problems: string[] = [];
  const readmeName = `lessons/${lesson}/README.md`;
  const lines = [...markdownLines(readme)];
  const hintsAt = lines.findIndex((l) => l.heading === 2 && /^## Hints\s*$/.test(l.line));
  if (hintsAt === -1) {
    problems.push(`${readmeName} has no "## Hints" section (it points at npm run hint)`);
  } else {
    const end = lines.findIndex((l, i) => i > hintsAt && l.heading !== undefined && l.heading <= 2);
    const section = lines.slice(hintsAt, end === -1 ? undefined : end).map((l) => l.line);
    if (!section.some((line) => line.includes("npm run hint"))) {
      problems.push(`${readmeName}: its "## Hints" section does not say to run npm run hint`);
    }
  }
  const details = lines.filter((l) => l.heading === undefined && /<details\b/i.test(l.line));
  if (details.length > 0) {
    problems.push(
      `${readmeName} still has ${details.length} <details> hint${details.length === 1 ? "" : "s"} (line ${details.map((l) => l.number).join(", ")}): hints go in hints.md`,
    );
  }

  const readmeSteps = new Map<number, string>();
  for (const l of lines) {
    const match = l.heading === 2 ? l.line.match(/^## Step (\d+): (.+)$/) : null;
    if (match) readmeSteps.set(Number(match[1]), (match[2] as string).trim());
  }
  const file = hintsFile(lesson);
  const hints = readHints(lesson);
  if (!hints) {
    problems.push(`${file} is missing (the hints for each step, shown by npm run hint)`);
    return problems;
  }
  problems.push(...hints.problems.map((problem) => `${file}, ${problem}`));
  for (const [n, title] of readmeSteps) {
    const step = hints.steps.find((s) => s.number === n);
    if (!step) problems.push(`${file} has no "## Step ${n}: ${title}"`);
    else if (step.title !== title) {
      problems.push(`${file}: "## Step ${n}: ${step.title}" is not the README's title, "${title}"`);
    }
  }
  for (const step of hints.steps.filter((s) => !readmeSteps.has(s.number))) {
    problems.push(`${file}: the README has no "## Step ${step.number}", but hints.md does`);
  }
  return problems;
}
