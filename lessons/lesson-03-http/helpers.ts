/** Test helpers for lesson 03: raw requests as bytes, and raw responses read back as parts. */
import type net from "node:net";
import { expect } from "vitest";
import { explain, show } from "../../shared/testing/bytes.ts";
import { guard } from "../../shared/testing/guard.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";

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

/** A server under test, listening, with its socket listeners guarded. */
export interface Served {
  readonly server: net.Server;
  readonly address: Address;
  /** Rejects, saying where, with what one of the server's socket listeners threw. */
  readonly failed: Promise<never>;
}

/**
 * Listens on port 0 (closed when the test ends) with the server's listeners guarded: what one of
 * them throws (a stub, a parser error not caught yet, a handler's bug) destroys that connection
 * and fails the waits of answered() at once, instead of a timeout and an unhandled error.
 */
export async function serve(server: net.Server): Promise<Served> {
  const { failed } = guard(server);
  const named = failed.catch((error: unknown) => {
    throw thrownByServer(error);
  });
  named.catch(() => {}); // a test that never waits on it is not an unhandled rejection
  return { server, address: await listen(server), failed: named };
}

/**
 * `promise`, bounded: it fails at once with what the server threw from a socket listener, or after
 * PATIENCE_MS with `expected`, what the protocol expected to happen.
 */
export function answered<T>(served: Served, promise: Promise<T>, expected: string): Promise<T> {
  return within(Promise.race([promise, served.failed]), expected);
}

/** What a server's socket listener threw, said as a failure that teaches. */
function thrownByServer(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "COURSE_NOT_IMPLEMENTED") return error; // a stub: its own message names the step
  if (typeof code === "string" && code.startsWith("HTTP_")) {
    return new Error(
      `The server's socket listener threw the HttpError ${code} (${error.message}). Nothing ` +
        "catches an error thrown there: it crashes the whole server. A refused request gets " +
        "errorResponse(error), then the close (Step 6).",
      { cause: error },
    );
  }
  return new Error(
    `The server's socket listener threw: ${error.message}. Nothing catches an error thrown ` +
      "there: it crashes the whole server. Any error that is not the request's is the server's " +
      "bug: answer 500, then close (Step 6).",
    { cause: error },
  );
}
