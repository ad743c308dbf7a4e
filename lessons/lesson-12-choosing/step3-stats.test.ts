import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { percentile, summarize } from "#lesson/lesson-12-choosing/stats.ts";

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe("Step 3: Percentiles", () => {
  test("by nearest rank, the median of 1..100 is 50 and the p99 is 99", () => {
    expect(percentile(oneToHundred, 50), "rank ceil(50/100 × 100) = 50").toBe(50);
    expect(percentile(oneToHundred, 99), "rank ceil(99/100 × 100) = 99").toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile(oneToHundred, 1)).toBe(1);
  });

  test("is always one of the samples, never a value between two", () => {
    expect(percentile([10, 20], 50), "rank ceil(0.5 × 2) = 1: the first, not 15").toBe(10);
    expect(percentile([1, 2, 3, 4], 75), "rank 3").toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 50), "the samples sorted first: 1 2 3 4 5, rank 3").toBe(3);
  });

  test("a p99 of 1,000 samples is the 990th smallest, where one slow answer in a hundred shows", () => {
    // 989 fast answers and 11 slow ones: the p99 is slow, the median and the mean barely move.
    const samples = [...Array(989).fill(1), ...Array(11).fill(500)];
    expect(percentile(samples, 99)).toBe(500);
    const summary = summarize(samples);
    expect(summary.median).toBe(1);
    expect(summary.mean).toBeCloseTo((989 + 11 * 500) / 1_000);
  });

  test("does not reorder the caller's samples", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    summarize(samples);
    expect(samples, "sort a copy: the caller's array is theirs").toEqual([3, 1, 2]);
  });

  test("sorts numbers as numbers: 10 is more than 9", () => {
    expect(percentile([9, 10, 100], 100)).toBe(100);
    expect(
      summarize([9, 10, 100]).min,
      "Array.prototype.sort() alone sorts 10 and 100 before 9",
    ).toBe(9);
  });

  test("summarize() gives the count, min, median, p99, max and mean", () => {
    expect(summarize([4, 8, 15, 16, 23, 42])).toEqual({
      count: 6,
      min: 4,
      median: 15,
      p99: 42,
      max: 42,
      mean: 18,
    });
  });

  test("no samples, or a percentile outside 0 < p <= 100, is a RangeError that says so", () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  test("for any samples: min <= median <= p99 <= max, and each is one of the samples", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        (samples) => {
          const s = summarize(samples);
          expect(s.min).toBeLessThanOrEqual(s.median);
          expect(s.median).toBeLessThanOrEqual(s.p99);
          expect(s.p99).toBeLessThanOrEqual(s.max);
          for (const value of [s.min, s.median, s.p99, s.max]) expect(samples).toContain(value);
          expect(s.count).toBe(samples.length);
          // At least p% of the samples are at or below the p-th percentile, and fewer are below it.
          const below = samples.filter((x) => x < s.p99).length;
          const atOrBelow = samples.filter((x) => x <= s.p99).length;
          expect(atOrBelow / samples.length).toBeGreaterThanOrEqual(0.99);
          expect(below / samples.length).toBeLessThan(0.99);
        },
      ),
    );
  });
});
