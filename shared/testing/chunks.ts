/**
 * Ways to cut bytes into chunks. A TCP `data` event is a chunk, never a message: every wire parser
 * in the course is fed its input cut at each boundary that matters (mid-header, between `\r` and
 * `\n`, inside a length prefix, byte by byte, two messages in one write).
 */

/** Text with "\n" written as CRLF, the way the RFCs' examples read: `crlf("PING\n")`. */
export function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\n/g, "\r\n"), "utf8");
}

/**
 * Splits `bytes` at the given offsets: `splitAt(b, 3, 5)` is `[b[0..3], b[3..5], b[5..]]`.
 * Offsets are sorted first; repeated ones and those outside 0..length are dropped, so every chunk
 * but an empty input's one is non-empty.
 */
export function splitAt(bytes: string | Uint8Array, ...offsets: number[]): Buffer[] {
  const buffer = Buffer.from(bytes);
  const inside = offsets.filter((n) => Number.isInteger(n) && n > 0 && n < buffer.length);
  const points = [0, ...new Set(inside.sort((a, b) => a - b)), buffer.length];
  if (buffer.length === 0) return [buffer];
  return points.slice(1).map((end, i) => buffer.subarray(points[i], end));
}

/** Every byte as its own chunk: the hardest way for a parser to receive a message. */
export function byteByByte(bytes: string | Uint8Array): Buffer[] {
  return [...Buffer.from(bytes)].map((byte) => Buffer.from([byte]));
}

/** Every way to cut `bytes` in two: `[a, b]` for each offset from 1 to length - 1. */
export function everySplit(bytes: string | Uint8Array): Buffer[][] {
  const buffer = Buffer.from(bytes);
  const splits: Buffer[][] = [];
  for (let at = 1; at < buffer.length; at++) splits.push(splitAt(buffer, at));
  return splits;
}

/** Feeds chunks in order to an incremental parser and collects every message it returns. */
export function feedAll<M>(parser: { feed(chunk: Buffer): Iterable<M> }, chunks: Buffer[]): M[] {
  return chunks.flatMap((chunk) => [...parser.feed(chunk)]);
}
