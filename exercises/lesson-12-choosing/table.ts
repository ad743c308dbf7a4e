/** Step 5: the result table, printed side by side. */
import { todo } from "#shared/todo.ts";

export type Cell = string | number;

/** A plain-text table: a header row, a rule, then the rows; numbers right-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  return todo("lesson-12-choosing", "formatTable()", "Step 5");
}
