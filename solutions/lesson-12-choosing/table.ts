/** Step 5: the result table, printed side by side. */

export type Cell = string | number;

/** Between two columns. */
const GAP = "  ";

/**
 * A plain-text table: a header row, a rule, then the rows; numbers right-aligned.
 *
 *   transport           median ms  p99 ms  bytes/op
 *   ------------------  ---------  ------  --------
 *   HTTP/1.1, new conn       0.41    1.20       312
 *   WebSocket                0.09    0.31        38
 *
 * A column is as wide as its longest cell, header included. Numbers are written the en-US way,
 * with thousands separators and as many decimals as their size deserves; strings go as they are.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  rows.forEach((row, index) => {
    if (row.length !== headers.length) {
      throw new RangeError(
        `Row ${index} has ${row.length} cells, the header has ${headers.length}: ${JSON.stringify(row)}`,
      );
    }
  });

  const body = rows.map((row) => row.map(formatCell));
  const widths = headers.map((header, column) =>
    Math.max(width(header), ...body.map((row) => width(row[column]!.text))),
  );
  // A header sits over its column the way the column's cells do: right over numbers.
  const numeric = headers.map(
    (_, column) => rows.length > 0 && rows.every((row) => isNumber(row[column])),
  );

  const lines = [
    line(
      headers.map((header, column) => ({ text: header, right: numeric[column]! })),
      widths,
    ),
    line(
      widths.map((w) => ({ text: "-".repeat(w), right: false })),
      widths,
    ),
    ...body.map((row) => line(row, widths)),
  ];
  return lines.join("\n");
}

interface Formatted {
  text: string;
  right: boolean;
}

function formatCell(cell: Cell): Formatted {
  return isNumber(cell) ? { text: formatNumber(cell), right: true } : { text: cell, right: false };
}

function isNumber(cell: Cell | undefined): cell is number {
  return typeof cell === "number";
}

/** 12,345 and 150 as they are; 2.50, 12.5 and 1,235 for fractions: about three figures. */
function formatNumber(value: number): string {
  const magnitude = Math.abs(value);
  const decimals = Number.isInteger(value) ? 0 : magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

/** Characters as they show, not UTF-16 code units: "é" is one, and so is an emoji. */
function width(text: string): number {
  return [...text].length;
}

function line(cells: readonly Formatted[], widths: readonly number[]): string {
  const padded = cells.map(({ text, right }, column) => {
    const padding = " ".repeat(widths[column]! - width(text));
    return right ? padding + text : text + padding;
  });
  // The last column is left-aligned text more often than not: no trailing spaces after it.
  return padded.join(GAP).trimEnd();
}
