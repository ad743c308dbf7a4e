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
  // TODO: By nearest rank: sort a copy of the samples in ascending numeric order and take the
  // one at rank ceil(p / 100 × N), counting from 1. It is always one of the samples. No samples,
  // or p outside 0 < p <= 100, is a RangeError that says which.
  return todo("lesson-12-choosing", "percentile()", "Step 3");
}

export function summarize(samples: readonly number[]): Summary {
  // TODO: count, min, median (the 50th percentile, by nearest rank), p99, max and mean of the
  // samples, leaving the caller's array as it was.
  return todo("lesson-12-choosing", "summarize()", "Step 3");
}
