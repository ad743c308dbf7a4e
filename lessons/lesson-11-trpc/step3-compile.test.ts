/**
 * The promise of tRPC's types, checked the way a build checks it: a small client file compiled by
 * the TypeScript compiler against the router, once as it is and once after the server changed the
 * type of what getUser answers. One in-memory program each, over the project's tsconfig settings;
 * the second reuses every source file the change did not touch. The first program also holds the
 * lesson's own test files and so your files, so that their type errors and the tests' type-level
 * assertions (expectTypeOf, @ts-expect-error), which do nothing when vitest runs them, fail a test
 * here, in the step they belong to, as they fail `npm run typecheck`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { createServer as createReferenceServer } from "#reference/lesson-11-trpc/server.ts";
import { createClient } from "#lesson/lesson-11-trpc/client.ts";
import { appRouter } from "#lesson/lesson-11-trpc/router.ts";
import { createServer } from "#lesson/lesson-11-trpc/server.ts";
import { createCallerFactory, createContext } from "#lesson/lesson-11-trpc/trpc.ts";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { createStore } from "#reference/lesson-08-rest/store.ts";
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

/**
 * What the first program checks for each step: the step's test file, whose types say something,
 * and your files of that step. A type error in either is that step's to fix.
 */
const LESSON_TESTS = path.join(ROOT, "lessons", "lesson-11-trpc");
const TYPED_BY_STEP = {
  "Step 1": { test: "step1-procedures.test.ts", yours: ["trpc.ts", "router.ts"] },
  "Step 2": { test: "step2-http.test.ts", yours: ["server.ts"] },
  "Step 3": { test: "step3-client.test.ts", yours: ["client.ts"] },
  "Step 4": { test: "step4-subscription.test.ts", yours: ["feed.ts"] },
} as const;
type Step = keyof typeof TYPED_BY_STEP;
const TYPED_TESTS = Object.values(TYPED_BY_STEP).map(({ test }) => path.join(LESSON_TESTS, test));

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
});

/**
 * Fails with every type error of a step: in its test file (an expectTypeOf that does not hold, an
 * expected error over a line that compiles) and in your files of that step. vitest strips the
 * types before it runs a test, so these are errors only to the type-checker.
 */
function assertTypesHold(step: Step): void {
  const { test: testFile, yours } = TYPED_BY_STEP[step];
  const p = firstProgram();
  const files = [path.join(LESSON_TESTS, testFile), ...yours.map((f) => path.join(LESSON_DIR, f))];
  const errors = files
    .filter((file) => p.getSourceFile(file) !== undefined)
    .flatMap((file) => typeErrors(p, file));
  if (errors.length > 0) {
    throw new Error(
      `${step}: the type-checker refuses your code or the step's tests against it (npm run typecheck says the same):\n\n${errors.join("\n\n")}\n\n` +
        "An expectTypeOf that does not hold is TS2344, its constraint naming what was expected " +
        '("Expected: string, Actual: null" may name only the part of a union that is wrong); ' +
        "an unused @ts-expect-error is TS2578: the line under it compiled, so the types let " +
        "through what the server refuses. The comment above each line says what it asserts.",
    );
  }
}

const TYPES_HOLD =
  "the type-level assertions of this step's tests hold against your code, and your files of the step type-check, as npm run typecheck checks them";

describe("Step 1: Procedures, input and context", () => {
  test(
    TYPES_HOLD,
    () => {
      assertTypesHold("Step 1");
      // And the context at run time, so that this test fails on unwritten code too.
      const ctx = createContext(
        { headers: { authorization: "Bearer demo-token" } },
        { store: createStore(), feed: new MessageFeed() },
      );
      expect(ctx.user, "Bearer demo-token names demo").toBe("demo");
    },
    30_000,
  );
});

describe("Step 2: tRPC over HTTP", () => {
  test(
    TYPES_HOLD,
    async () => {
      assertTypesHold("Step 2");
      // And your server at run time, so that this test fails on unwritten code too.
      const started = await startServer(createServer);
      const reply = await within(
        Promise.race([
          fetch(`${started.url}/user.getUser?input=${encodeURIComponent('{"id":"123"}')}`),
          started.failed,
        ]),
        "an answer to GET /trpc/user.getUser",
      );
      await reply.body?.cancel();
      expect(reply.status, "GET /trpc/user.getUser for a user the store has").toBe(200);
    },
    30_000,
  );
});

describe("Step 3: A typed client, and types that break the build", () => {
  test(
    TYPES_HOLD,
    async () => {
      assertTypesHold("Step 3");
      // And the client at run time, so that this test fails on an unwritten client too.
      const started = await startServer(createReferenceServer);
      const user = await within(
        Promise.race([createClient(started.url).user.getUser.query({ id: "123" }), started.failed]),
        "an answer to getUser",
      );
      expect(user.id).toBe("123");
    },
    30_000,
  );
});

describe("Step 4: A subscription over server-sent events", () => {
  test(
    TYPES_HOLD,
    async () => {
      assertTypesHold("Step 4");
      // And a post at run time, so that this test fails on unwritten code too.
      const feed = new MessageFeed();
      const caller = createCallerFactory(appRouter)({ store: createStore(), feed, user: "demo" });
      const message = await within(caller.feed.post({ text: "hello" }), "an answer to feed.post");
      expect(message, "feed.post answers what the feed stored, by the caller").toMatchObject({
        author: "demo",
        text: "hello",
      });
    },
    30_000,
  );
});
