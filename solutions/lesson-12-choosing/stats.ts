/** Step 3: what a list of latencies says: its median, its p99, and the rest. */
import { todo } from "#shared/todo.ts";

export interface Summary {
  count: number;
  min: number;
  median: number;
  p99: number;
  max: number;
  mean: number;
}

/** The `p`-th percentile (0 < p <= 100) of `samples`, by nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  return todo("lesson-12-choosing", "percentile()", "Step 3");
}

export function summarize(samples: readonly number[]): Summary {
  return todo("lesson-12-choosing", "summarize()", "Step 3");
}
