/**
 * Every `event` an emitter (a socket.io-client socket, say) gets, each as its list of arguments,
 * and a bounded wait for more: `await record(socket, "chat").until(3, "bob's three messages")`.
 * A failure says how many came, and shows the last few.
 */
import { within } from "./patience.ts";

export interface Recorded {
  seen: unknown[][];
  until(count: number, why: string, ms?: number): Promise<unknown[][]>;
}

/** Anything with `on(event, listener)`: a Socket.IO client socket, an EventEmitter. */
interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export function record(emitter: Emitter, event: string): Recorded {
  const seen: unknown[][] = [];
  const waiters = new Set<() => void>();
  emitter.on(event, (...args: unknown[]) => {
    seen.push(args);
    for (const wake of [...waiters]) wake();
  });
  return {
    seen,
    until: (count, why, ms) =>
      within(
        new Promise<unknown[][]>((resolve) => {
          const check = (): void => {
            if (seen.length < count) return;
            waiters.delete(check);
            resolve(seen);
          };
          waiters.add(check);
          check();
        }),
        () =>
          `Expected ${count} "${event}" events (${why}), got ${seen.length}: ${JSON.stringify(seen.slice(-5))}`,
        ms,
      ),
  };
}
