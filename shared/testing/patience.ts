/**
 * A bound on a wait that would otherwise hang. Tests wait on the event that matters; when the code
 * under test never produces it, vitest's own timeout says nothing but "Test timed out". within()
 * fails sooner, saying what was expected. It is a deadline for the failure message only: a passing
 * test never waits on it, and its timer is cleared either way.
 */
// From node:timers, not the globals: vi.useFakeTimers() replaces the globals only, so within()
// still gives up on time in a test that fakes them.
import { clearTimeout, setTimeout } from "node:timers";

/**
 * How long a test lets something that takes a few milliseconds take before it fails with its own
 * message: generous for a loaded machine, and well under vitest's timeout.
 */
export const PATIENCE_MS = 1_500;

/**
 * `promise`, or a failure if it has not settled within `ms`. `expected` is either what should have
 * happened ("the server's FIN after 50 ms: check the idle timer"), or a function that writes the
 * whole message when the time is up, so that it can tell the state at that moment.
 */
export async function within<T>(
  promise: Promise<T>,
  expected: string | (() => string),
  ms: number = PATIENCE_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      try {
        const message =
          typeof expected === "string"
            ? `Nothing after ${ms} ms. Expected ${expected}`
            : expected();
        reject(new Error(message));
      } catch (error) {
        reject(error); // writing the message failed (a stub's getter, say): report that instead
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
