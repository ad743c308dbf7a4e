/** Reading errors in tests: the course's errors carry a stable `code`, and tests assert it. */

/** The error `fn` throws (a test then checks its class and code), or a failure if none. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected an error to be thrown, but none was.");
}

/** The error an async `fn` rejects with, or a failure if it resolves. */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected the promise to reject, but it resolved.");
}

/** The `code` of an error, or a description of what was thrown instead, for `expect(...).toBe`. */
export function codeOf(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as Error & { code?: unknown };
    return typeof code === "string" ? code : `${error.name} without a code: ${error.message}`;
  }
  return `not an Error: ${String(error)}`;
}
