/**
 * The promise of tRPC's types, checked the way a build checks it: a small client file compiled by
 * the TypeScript compiler against the router, once as it is and once after the server changed the
 * type of what getUser answers. One in-memory program each, over the project's tsconfig settings;
 * the second reuses every source file the change did not touch. The first program also holds the
 * lesson's own test files, so that their type-level assertions (expectTypeOf, @ts-expect-error),
 * which do nothing when vitest runs them, fail a test here as they fail `npm run typecheck`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { createServer as createReferenceServer } from "#reference/lesson-11-trpc/server.ts";
import { createClient } from "#lesson/lesson-11-trpc/client.ts";
import { within } from "../../shared/testing/patience.ts";
import { startServer } from "./sse-helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The tree these tests run against: the folder whose router.ts the client is compiled with. */
// vitest's mode (vitest.config.ts), or the target `npm run mutate` names in the environment.
const TARGET = process.env.COURSE_TARGET ?? (import.meta as { env?: { MODE?: string } }).env?.MODE;
const TREE =
  TARGET === "solutions" ? "solutions" : TARGET === "stubs" ? ".course/stubs" : "exercises";
const LESSON_DIR = path.join(ROOT, TREE, "lesson-11-trpc");

/** The client a learner writes against the server: it reads the user's email. */
const CLIENT_FILE = path.join(LESSON_DIR, "typed-client.check.ts");
const CLIENT = `import { createClient } from "./client.ts";

const client = createClient("http://127.0.0.1:8111/trpc");
const user = await client.user.getUser.query({ id: "123" });
export const email: string = user.email;
`;

/**
 * The server's change: its User type (lesson 08's store, which getUser answers) renames email to
 * emailAddress. The router is not edited: its output type follows the store's, and so does the
 * client's.
 */
const STORE_FILE = path.join(ROOT, "solutions", "lesson-08-rest", "store.ts");
// The interface as lesson 08 declares it, whatever the line ends of the checkout (CRLF on Windows).
const USER_INTERFACE = /(export interface User \{[^}]*?)\bemail: string;/;

/** The lesson's tests whose types say something: checked against your code by the first program. */
const LESSON_TESTS = path.join(ROOT, "lessons", "lesson-11-trpc");
const TYPED_TESTS = [
  "step1-procedures.test.ts",
  "step2-http.test.ts",
  "step3-client.test.ts",
  "step4-subscription.test.ts",
].map((name) => path.join(LESSON_TESTS, name));

function compilerOptions(): ts.CompilerOptions {
  // The settings `npm run typecheck` checks this target with: tsconfig.solutions.json resolves
  // #lesson/ to solutions/ (its "solutions" condition), tsconfig.json to exercises/.
  const configFile = path.join(
    ROOT,
    TARGET === "solutions" ? "tsconfig.solutions.json" : "tsconfig.json",
  );
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configFile);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true };
  // The stubs are a copy outside the tree, which vitest's alias makes #lesson/: the same here.
  if (TREE !== "exercises" && TREE !== "solutions") {
    options.paths = { "#lesson/*": [path.join(ROOT, TREE, "*")] };
  }
  return options;
}

/** Parsed files shared by every program of this file: the libraries' .d.ts are most of the work. */
const parsed = new Map<string, ts.SourceFile>();

function program(overrides: ReadonlyMap<string, string>, oldProgram?: ts.Program): ts.Program {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => overrides.get(path.resolve(file)) ?? readFile(file);
  host.fileExists = (file) => overrides.has(path.resolve(file)) || ts.sys.fileExists(file);
  host.getSourceFile = (file, languageVersion) => {
    const override = overrides.get(path.resolve(file));
    if (override !== undefined) return ts.createSourceFile(file, override, languageVersion, true);
    let sourceFile = parsed.get(file);
    if (sourceFile === undefined) {
      const text = ts.sys.readFile(file);
      if (text === undefined) return undefined;
      sourceFile = ts.createSourceFile(file, text, languageVersion, true);
      parsed.set(file, sourceFile);
    }
    return sourceFile;
  };
  return ts.createProgram({
    rootNames: [CLIENT_FILE, ...TYPED_TESTS],
    options,
    host,
    oldProgram,
  });
}

/** The client file beside your router, and the lesson's tests: made once, shared by the tests. */
let unchanged: ts.Program | undefined;
const firstProgram = (): ts.Program => (unchanged ??= program(new Map([[CLIENT_FILE, CLIENT]])));

/** The client file's diagnostics as `TS<code> <line>:<column> <text>`. */
function diagnostics(p: ts.Program): string[] {
  const file = p.getSourceFile(CLIENT_FILE);
  if (file === undefined) throw new Error(`The program has no ${CLIENT_FILE}`);
  return [...p.getSyntacticDiagnostics(file), ...p.getSemanticDiagnostics(file)].map((d) => {
    const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    return `TS${d.code} ${line + 1}:${character + 1} ${text}`;
  });
}

/**
 * A test file's type errors, each with the lines that say what the assertion means: the comment
 * above the line (or the `@ts-expect-error: ...` line itself) and the line.
 */
function typeErrors(p: ts.Program, fileName: string): string[] {
  const file = p.getSourceFile(fileName);
  if (file === undefined) throw new Error(`The program has no ${fileName}`);
  const lines = file.text.split(/\r?\n/);
  const where = path.relative(ROOT, fileName).split(path.sep).join("/");
  return [...p.getSyntacticDiagnostics(file), ...p.getSemanticDiagnostics(file)].map((d) => {
    const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n    ");
    let first = line;
    while (first > 0 && /^\s*\/\//.test(lines[first - 1] ?? "")) first--;
    const context = lines
      .slice(first, line + 1)
      .map((source, i) => `    ${String(first + i + 1).padStart(4)} | ${source.trim()}`);
    return [`${where}:${line + 1}:${character + 1} error TS${d.code}: ${text}`, ...context].join(
      "\n",
    );
  });
}

describe("Step 3: A typed client, and types that break the build", () => {
  test(
    "a client that reads user.email compiles against your router, and fails with TS2339 once the server's User has no email",
    async () => {
      // The same call at run time first, so that this test fails on an unwritten client too.
      const started = await startServer(createReferenceServer);
      const user = await within(
        Promise.race([createClient(started.url).user.getUser.query({ id: "123" }), started.failed]),
        "an answer to getUser",
      );
      expect(user.email).toBe("ada.lovelace.123@example.com");

      const store = readFileSync(STORE_FILE, "utf8");
      expect(store, "lesson 08's store declares User with an email").toMatch(USER_INTERFACE);
      const clientOnly = new Map([[CLIENT_FILE, CLIENT]]);

      const before = firstProgram();
      expect(diagnostics(before), "the client, compiled against your router: no errors").toEqual(
        [],
      );
      const after = program(
        new Map([
          ...clientOnly,
          [STORE_FILE, store.replace(USER_INTERFACE, "$1emailAddress: string;")],
        ]),
        before,
      );
      expect(
        diagnostics(after),
        "the same client after the server renamed email: the build breaks where the client reads it",
      ).toEqual([
        "TS2339 5:35 Property 'email' does not exist on type '{ id: string; name: string; emailAddress: string; }'.",
      ]);
    },
    // A compiler run over tRPC's and zod's types, on a shared machine: seconds, not milliseconds.
    30_000,
  );

  test("the type-level assertions of the lesson's tests hold against your code, as npm run typecheck checks them", async () => {
    // vitest strips the types before it runs a test: an expectTypeOf that does not hold, or an
    // expected error over a line that compiles, is an error only to the type-checker.
    const errors = TYPED_TESTS.flatMap((file) => typeErrors(firstProgram(), file));
    if (errors.length > 0) {
      throw new Error(
        `The type-checker refuses the lesson's tests against your code (npm run typecheck says the same):\n\n${errors.join("\n\n")}\n\n` +
          "An expectTypeOf that does not hold is TS2344, its constraint naming what was expected " +
          '("Expected: string, Actual: null" may name only the part of a union that is wrong); ' +
          "an unused @ts-expect-error is TS2578: the line under it compiled, so the types let " +
          "through what the server refuses. The comment above each line says what it asserts.",
      );
    }
    // And the client at run time, so that this test fails on an unwritten client too.
    const started = await startServer(createReferenceServer);
    const user = await within(
      Promise.race([createClient(started.url).user.getUser.query({ id: "123" }), started.failed]),
      "an answer to getUser",
    );
    expect(user.id).toBe("123");
  }, 30_000);
});
