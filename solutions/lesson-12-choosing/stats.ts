/** Step 3: what a list of latencies says: its median, its p99, and the rest. */

export interface Summary {
  count: number;
  min: number;
  median: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The `p`-th percentile (0 < p <= 100) of `samples`, by nearest rank: the smallest sample that at
 * least p% of the samples are less than or equal to. Sorted ascending, that is the one at rank
 * ceil(p / 100 × N), counting from 1. It is always one of the samples, never an interpolation.
 */
export function percentile(samples: readonly number[], p: number): number {
  return atRank(sortedCopy(samples), p);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = sortedCopy(samples);
  const sum = sorted.reduce((total, sample) => total + sample, 0);
  return {
    count: sorted.length,
    min: sorted[0]!,
    median: atRank(sorted, 50),
    p99: atRank(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

/** A sorted copy: the caller's array is theirs, and a sort in place would reorder it. */
function sortedCopy(samples: readonly number[]): number[] {
  if (samples.length === 0) {
    throw new RangeError("No samples: a percentile of an empty list does not exist");
  }
  for (const sample of samples) {
    // NaN compares false with everything, and would leave the sort in no defined order.
    if (Number.isNaN(sample)) throw new RangeError(`Not a sample: ${sample}`);
  }
  return [...samples].sort((a, b) => a - b);
}

function atRank(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) {
    throw new RangeError(`Percentile out of range: ${JSON.stringify(p)} (expected 0 < p <= 100)`);
  }
  // p × N first, then / 100: for whole p that is exact, where (p / 100) × N can land on
  // 57.00000000000001 and ceil() would step one rank too far.
  const rank = Math.ceil((p * sorted.length) / 100);
  return sorted[rank - 1]!;
}
