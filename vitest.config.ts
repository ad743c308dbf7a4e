import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defaultServerConditions, normalizePath } from "vite";
import { defineConfig } from "vitest/config";

// One suite, two targets, and the stubs. Every test imports the code under test as
// `#lesson/<lesson>/<file>.ts`, a package.json "imports" entry that points at exercises/ by default:
//   vitest                  -> the learner's exercises/
//   vitest --mode solutions -> the reference solutions/ (the "solutions" condition)
//   vitest --mode stubs     -> the untouched stubs that `npm run check` copies out of git
export const STUBS_DIR = ".course/stubs";
const stubsPath = normalizePath(fileURLToPath(new URL(`${STUBS_DIR}/`, import.meta.url)));

/** A path as a literal in a regex replacement: a `$` in a folder name must stay a `$`. */
function literal(text: string): string {
  return text.replaceAll("$", "$$$$");
}

/**
 * `npm run mutate` runs vitest through Stryker, which cannot pass `--mode`: it names the target
 * and the one lesson to run in the environment instead.
 */
const target = process.env.COURSE_TARGET;
const onlyLesson = process.env.COURSE_LESSON;
/** `npm run test-speed` times the lessons against vitest on one trivial file, which it names here. */
const baseline = process.env.COURSE_BASELINE;

export default defineConfig(({ mode: cliMode }) => {
  const mode = target ?? cliMode;
  return {
    resolve: {
      alias: [
        // graphql 16 ships two copies of itself, index.mjs ("module") and index.js ("main"). Node
        // loads index.js for every `import "graphql"`, @graphql-tools' and graphql-http's too; Vite
        // would pick index.mjs for the tests. Two copies refuse each other's schemas, so the tests
        // load the one Node loads, as the servers do when a learner runs them.
        { find: /^graphql$/, replacement: "graphql/index.js" },
        ...(mode === "stubs"
          ? [{ find: /^#lesson\/(.*)$/, replacement: `${literal(stubsPath)}$1` }]
          : []),
      ],
    },
    ssr: {
      resolve: {
        // Setting this list replaces Vite's defaults, so they are listed again.
        conditions:
          mode === "solutions"
            ? ["solutions", ...defaultServerConditions]
            : [...defaultServerConditions],
      },
    },
    test: {
      include: [
        baseline ?? (onlyLesson ? `lessons/${onlyLesson}/**/*.test.ts` : "lessons/**/*.test.ts"),
      ],
      // A stub throws at once; a short timeout keeps a test that waits on a stub's silence quick.
      testTimeout: mode === "stubs" ? 2_000 : 5_000,
      hookTimeout: 5_000,
      teardownTimeout: 2_000,
      // Test files share a worker's loaded modules (every test closes what it opens), and run two
      // or more at a time: most of a file's time is spent waiting on sockets and child processes.
      isolate: false,
      setupFiles: ["shared/testing/setup.ts"],
      maxWorkers: Math.max(2, availableParallelism()),
      // Transformed modules are kept on disk (in node_modules), keyed by their content and the
      // config, so a run does not compile TypeScript the last run compiled already.
      experimental: { fsModuleCache: true },
    },
  };
});
