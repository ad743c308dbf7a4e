/** Step 5: the result table, printed side by side. */
import { todo } from "#shared/todo.ts";

export type Cell = string | number;

/** A plain-text table: a header row, a rule, then the rows; numbers right-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  // TODO: Each column as wide as its widest cell (header included), counted in characters as they
  // show ("é" and "🚀" are one each), two spaces between columns, no spaces at the end of a line.
  // The header, a rule of dashes under each column, then the rows. Numbers are written en-US, with
  // thousands separators: whole numbers as they are, fractions with 2 decimals below 10, 1 below
  // 100, none above; they are right-aligned, and so is the header over a column of numbers. Text
  // is left-aligned. A row whose cell count is not the header's is a RangeError.
  return todo("lesson-12-choosing", "formatTable()", "Step 5");
}
