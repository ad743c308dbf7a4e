import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { listLessons, ROOT } from "./lessons.ts";
import type { Outcome } from "./suite.ts";

/**
 * What the scripts and the dashboard rely on in each lesson, beyond its tests: a valid
 * lesson.json, the same files in exercises/ and solutions/, and a README with a heading for every
 * "Step N" the tests name and a Hints section. Returns one line per problem.
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
    if (lesson.server) {
      const { module, defaultPort, try: tryLines } = lesson.server;
      for (const tree of ["exercises", "solutions"]) {
        if (!existsSync(path.join(ROOT, tree, lesson.name, String(module)))) {
          problems.push(
            `${where("lesson.json")}: server.module ${JSON.stringify(module)} is not in ${tree}/${lesson.name}/`,
          );
        }
      }
      if (!Number.isInteger(defaultPort) || defaultPort < 1 || defaultPort > 65535) {
        problems.push(`${where("lesson.json")}: server.defaultPort must be a port number`);
      }
      if (!Array.isArray(tryLines))
        problems.push(`${where("lesson.json")}: server.try must be a list of commands`);
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
    const headings = readFileSync(readmeFile, "utf8")
      .split("\n")
      .filter((line) => /^#{2,3} /.test(line));
    if (!headings.some((h) => /^## Hints\s*$/.test(h)))
      problems.push(`${where("README.md")} has no "## Hints" section`);
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
