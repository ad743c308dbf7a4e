/** Test helpers for lesson 03: raw requests as bytes, and raw responses read back as parts. */
import { expect } from "vitest";
import { explain, show } from "../../shared/testing/bytes.ts";

// Lesson 04's tests import these from here; they are the course's shared ones.
export { byteByByte as oneByOne, crlf, splitAt } from "../../shared/testing/chunks.ts";

/** What a test reads out of raw response bytes. */
export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  bytes: Buffer;
}

/** Splits complete response bytes into status line, header fields (lowercased) and body. */
export function readResponse(bytes: Buffer, sent: Buffer | string = ""): RawResponse {
  const end = bytes.indexOf("\r\n\r\n");
  expect(
    end,
    explain("A response head ends with an empty line", sent, '"...\\r\\n\\r\\n"', bytes),
  ).toBeGreaterThan(0);
  const [statusLine = "", ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    statusLine,
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: bytes.subarray(end + 4),
    bytes,
  };
}

/** The same response bytes with the Date value blanked, to compare two responses. */
export function withoutDate(bytes: Buffer): string {
  return bytes.toString("latin1").replace(/\r\nDate: [^\r]*/, "\r\nDate: <now>");
}

/** A failure message for a parser that should have refused some bytes. */
export function refusal(sent: Buffer | Buffer[], expected: string, error: unknown): string {
  const got =
    error instanceof Error
      ? `${error.name} ${(error as { code?: string }).code ?? ""}: ${error.message}`
      : "no error";
  return [
    "The parser should refuse this message",
    `  sent:     ${show(Buffer.concat([sent].flat()))}`,
    `  expected: ${expected}`,
    `  got:      ${got}`,
  ].join("\n");
}
