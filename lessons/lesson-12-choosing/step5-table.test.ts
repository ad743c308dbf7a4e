import { describe, expect, test } from "vitest";
import { formatTable } from "#lesson/lesson-12-choosing/table.ts";

describe("Step 5: The table", () => {
  test("a header row, a rule as wide as each column, then the rows", () => {
    const table = formatTable(["transport", "median ms"], [["REST", 0.27]]);
    expect(table.split("\n")).toEqual([
      "transport  median ms",
      "---------  ---------",
      "REST            0.27",
    ]);
  });

  test("numbers right-aligned with thousands separators, text left-aligned", () => {
    const lines = formatTable(
      ["row", "bytes"],
      [
        ["gRPC", 147],
        ["HTTP/1.1, new connection", 23_437],
      ],
    ).split("\n");
    expect(lines[2], "the number's last digit under the header's last letter").toBe(
      "gRPC                         147",
    );
    expect(lines[3]).toBe("HTTP/1.1, new connection  23,437");
  });

  test("fractions get a few decimals: 0.13, 12.5, 1,235", () => {
    const table = formatTable(["n"], [[0.1349], [12.54], [1234.6]]);
    expect(table.split("\n").slice(2)).toEqual([" 0.13", " 12.5", "1,235"]);
  });

  test("a column is as wide as its widest cell, counted in characters: é and 🚀 are one each", () => {
    const lines = formatTable(
      ["name", "n"],
      [
        ["café", 1],
        ["🚀", 22],
      ],
    ).split("\n");
    expect(lines[2]).toBe("café   1");
    expect(lines[3], '"🚀".length is 2: pad by what shows').toBe("🚀     22");
  });

  test("a row with the wrong number of cells is a RangeError", () => {
    expect(() => formatTable(["a", "b"], [["only one"]])).toThrow(RangeError);
  });
});
