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

export default defineConfig(({ mode }) => ({
  resolve: {
    alias:
      mode === "stubs" ? [{ find: /^#lesson\/(.*)$/, replacement: `${literal(stubsPath)}$1` }] : [],
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
    include: ["lessons/**/*.test.ts"],
    // A stub throws at once; a short timeout keeps a test that waits on a stub's silence quick.
    testTimeout: mode === "stubs" ? 2_000 : 5_000,
    hookTimeout: 5_000,
    teardownTimeout: 2_000,
  },
}));
