/**
 * Runs before every test file (vitest.config.ts `setupFiles`). Test files share a worker and the
 * modules it has loaded, so a global that one file replaces and does not put back (fake timers, a
 * wrapped setInterval) would break the files after it, far from the cause. After each file, and
 * again as the next one starts (vitest restores a file's spies after its last hook), this puts
 * every such global back and fails with the name of the file that left it replaced.
 */
import path from "node:path";
import { afterAll, expect, vi } from "vitest";

const GLOBALS = [
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "setImmediate",
  "clearImmediate",
  "queueMicrotask",
  "Date",
] as const;

interface WorkerState {
  /** The globals as this worker's first file found them, before any test could replace them. */
  originals: Record<(typeof GLOBALS)[number], unknown>;
  /** The file that ran last in this worker. */
  previous: string | undefined;
}

const KEY = Symbol.for("protocol-course.worker-state");
const holder = globalThis as unknown as Record<symbol, WorkerState | undefined>;
const state: WorkerState = (holder[KEY] ??= {
  originals: Object.fromEntries(GLOBALS.map((name) => [name, globalThis[name]])) as never,
  previous: undefined,
});

/** Puts back what was replaced, and says what it was; "" if nothing was. */
function putBack(): string {
  const faked = vi.isFakeTimers();
  if (faked) vi.useRealTimers();
  const replaced = GLOBALS.filter((name) => globalThis[name] !== state.originals[name]);
  for (const name of replaced) Object.assign(globalThis, { [name]: state.originals[name] });
  return [...(faked ? ["fake timers"] : []), ...replaced].join(", ");
}

function complain(file: string | undefined, what: string): Error {
  return new Error(
    `${file ?? "A test file"} left ${what} in place of the real one after its tests ended. ` +
      `Put it back when each test ends (vi.useRealTimers() or the saved function, in ` +
      `onTestFinished): test files share a worker, and the next file would run on it.`,
  );
}

const leftBefore = putBack();
if (leftBefore) throw complain(state.previous, leftBefore);

afterAll(() => {
  const testPath = expect.getState().testPath;
  state.previous = testPath ? path.relative(process.cwd(), testPath) : undefined;
  const left = putBack();
  if (left) throw complain(state.previous, left);
});
