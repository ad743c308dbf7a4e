/** Test helpers for lesson 03: raw requests as bytes, and raw responses read back as parts. */
import { expect } from "vitest";
import { explain, show } from "../../shared/testing/bytes.ts";
import { connect, Inbox, type Address } from "../../shared/testing/net.ts";

/** Request text with "\n" written as CRLF, the way the RFC's examples read. */
export function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\n/g, "\r\n"), "utf8");
}

/** Splits bytes at the given offsets: split(b, 3, 5) is [b[0..3], b[3..5], b[5..]]. */
export function splitAt(bytes: Buffer, ...offsets: number[]): Buffer[] {
  const points = [0, ...offsets, bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

/** Every byte as its own chunk. */
export function oneByOne(bytes: Buffer): Buffer[] {
  return [...bytes].map((byte) => Buffer.from([byte]));
}

/** Feeds chunks in order and collects every message the parser returns. */
export function feedAll<M>(parser: { feed(chunk: Buffer): M[] }, chunks: Buffer[]): M[] {
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

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

/**
 * Connects, writes each chunk in turn (waiting until each is handed to the kernel), and resolves
 * with every byte the server sent before it closed the connection.
 */
export async function exchange(address: Address, chunks: Buffer[]): Promise<Buffer> {
  const socket = await connect(address);
  // No Nagle: each chunk leaves in its own segment, so a test that splits a request really sends
  // it in pieces instead of letting the kernel coalesce small writes.
  socket.setNoDelay(true);
  const inbox = new Inbox(socket);
  // The server may answer and close while chunks are still being written (a refused request);
  // what it sent before closing is what the test checks, so a failed write is not an error here.
  socket.on("error", () => {});
  for (const chunk of chunks) {
    if (!socket.writable) break;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  }
  return inbox.untilEnd();
}

/** The same response bytes with the Date value blanked, to compare two responses. */
export function withoutDate(bytes: Buffer): string {
  return bytes.toString("latin1").replace(/\r\nDate: [^\r]*/, "\r\nDate: <now>");
}

/** What `feed` threw for these chunks, or undefined if it threw nothing. */
export function thrownBy(feed: (chunk: Buffer) => unknown, chunks: Buffer[]): unknown {
  try {
    for (const chunk of chunks) feed(chunk);
  } catch (error) {
    return error;
  }
  return undefined;
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
