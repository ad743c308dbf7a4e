/**
 * Waiting between attempts: exponential backoff with "full jitter", and a sleep that an
 * AbortSignal cuts short.
 *
 *   attempt     0    1    2    3     4     5  ...
 *   ceiling   250  500 1000 2000  4000  8000  ... up to maxMs      (baseMs = 250)
 *   delay     a random whole number of ms in [0, ceiling)
 *
 * Why random: when a server fails, all its clients fail at the same moment. With a fixed schedule
 * they would all retry at the same moments too, in waves that knock it over again as it comes back.
 * Drawing each delay at random from the whole range spreads them out.
 */
import { todo } from "#shared/todo.ts";

export interface BackoffOptions {
  /** The ceiling of the first retry's delay (ms). */
  baseMs: number;
  /** The ceiling never grows past this (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 15_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry after a success): uniform in
 * [0, min(maxMs, baseMs * 2^attempt)). `random` returns a number in [0, 1), like Math.random.
 */
export function backoffDelay(
  attempt: number,
  { baseMs, maxMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  // TODO: Full jitter: the ceiling doubles with each attempt from baseMs, and never passes maxMs;
  // the delay is a whole number of ms drawn uniformly from [0, ceiling), never the ceiling itself.
  return todo("lesson-05-polling", "backoffDelay()", "Step 4");
}

/**
 * Resolves with true after `ms`, or with false as soon as `signal` aborts. Either way no timer and
 * no listener is left behind: an abandoned timer would keep the process alive until it fires.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  // TODO: true once `ms` have passed; false as soon as the signal aborts (at once, with no timer,
  // if it already has). Whichever comes first leaves nothing of the other behind: no timer, no
  // abort listener.
  return todo("lesson-05-polling", "sleep()", "Step 4");
}
