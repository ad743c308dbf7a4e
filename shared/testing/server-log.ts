/**
 * A server that catches what a handler threw logs it with console.error and answers 500 (or
 * closes with 1011): the right thing in production, and the reason a stub reached inside it would
 * only show as a bare 500. Watching the log lets a test fail with the stub's own message instead,
 * and lets a test that expects a logged bug read the log without printing it.
 *
 * The watch lasts for the test that started it; the log is emptied when that test ends.
 */
import { onTestFinished } from "vitest";

/** Whether `value` is what an unwritten stub throws (shared/todo.ts). */
export function isNotWritten(value: unknown): value is Error {
  return (value as { code?: unknown } | null)?.code === "COURSE_NOT_IMPLEMENTED";
}

const NOT_WRITTEN = " is not written yet. Read Step ";
/** The message from its function's name on, read from where the name starts. */
const MESSAGE = /[^\s>]+ is not written yet\. Read Step \d+ in [^\s<]+/y;

/**
 * A stub's message as a body shows it (express's error page, a problem's detail): from the name
 * of the function, `createApp() is not written yet. Read Step 1 in lessons/...`, or undefined.
 * The fixed words are looked for first: a pattern free to start anywhere would scan a long body
 * without spaces, such as a JSON document, again from every position.
 */
export function notWrittenIn(text: string): string | undefined {
  const at = text.indexOf(NOT_WRITTEN);
  if (at === -1) return undefined;
  let start = at;
  while (start > 0 && !/[\s>]/.test(text[start - 1] as string)) start--;
  MESSAGE.lastIndex = start;
  return MESSAGE.exec(text)?.[0];
}

const logged: unknown[] = [];
let watching = false;
/** Set by a test that expects the server to log a bug: keep the log, print nothing. */
let quiet = false;

/**
 * Keeps what is logged with console.error during this test. A stub's error is printed in one line
 * (`The server answered 500: ...`) instead of a whole stack; anything else is printed as it is.
 * Calling it again in the same test changes nothing.
 */
export function watchServerLog(): void {
  if (watching) return;
  watching = true;
  const original = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(...args);
    const stub = args.find(isNotWritten);
    if (quiet) return;
    if (stub === undefined) original.apply(console, args);
    else original.call(console, `The server answered 500: ${stub.message}`);
  };
  onTestFinished(() => {
    console.error = original;
    watching = false;
    quiet = false;
    logged.length = 0;
  });
}

/** Everything logged so far in this test. From now on the log is kept but not printed. */
export function serverLog(): unknown[] {
  quiet = true;
  return [...logged];
}

/** The first unwritten stub's error the server has logged in this test, if any. */
export function loggedStub(): Error | undefined {
  return logged.find(isNotWritten);
}
