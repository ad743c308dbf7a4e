/**
 * Bytes as a learner can read them in a failure message: printable ASCII as is, CR and LF as
 * `\r` and `\n`, every other byte as `\xNN`. `show(Buffer.from("+OK\r\n"))` is `"+OK\r\n"`.
 */
export function show(bytes: Uint8Array | string, max = 400): string {
  const buf = typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes);
  let out = "";
  for (const byte of buf.subarray(0, max)) {
    if (byte === 0x0d) out += "\\r";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  const more = buf.length > max ? `... (${buf.length - max} more bytes)` : "";
  return `"${out}"${more}`;
}

/** A failure message in protocol terms: what was sent, what the protocol expected, what came back. */
export function explain(
  what: string,
  sent: Uint8Array | string,
  expected: string,
  received: Uint8Array | string,
): string {
  return [
    what,
    `  sent:     ${show(sent)}`,
    `  expected: ${expected}`,
    `  received: ${show(received)}`,
  ].join("\n");
}
