/**
 * Decoders for `npm run serve -- <lesson> --trace`: what the proxy prints instead of raw bytes once
 * a connection stops being plain HTTP/1.1.
 *
 * - After a `101 Switching Protocols`, each WebSocket frame (RFC 6455 §5.2), one line per frame,
 *   however the frames are cut into TCP chunks: FIN, RSV, opcode, MASK, payload length, and a
 *   preview of the payload (text escaped and cut, binary as hex, a Close's code and reason).
 * - On a `text/event-stream` response, each event as the server writes it: the field lines of one
 *   event together, once its blank line has come (the HTML standard's "Interpreting an event
 *   stream"), with the chunked transfer coding (RFC 9112 §7.1) taken off first. Lines that make
 *   no event are labelled as what they are: a comment, a `retry` alone, fields with no data.
 *
 * Everything here is incremental: feed() takes a chunk, returns the lines it completed, and keeps
 * the rest for the next chunk.
 */

/** The payload bytes a frame line shows. */
export const PREVIEW_BYTES = 64;

const OPCODE_NAMES: Record<number, string> = {
  0x0: "continuation",
  0x1: "text",
  0x2: "binary",
  0x8: "close",
  0x9: "ping",
  0xa: "pong",
};

/** Text as a JSON string literal (so `\n` and quotes show), cut to `max` characters. */
function escaped(text: string, max = PREVIEW_BYTES): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  return JSON.stringify(cut) + (text.length > max ? "..." : "");
}

/** WebSocket frames, in one direction of one connection. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  /** Payload bytes of the current frame still to skip once its line is printed. */
  private skipping = 0;
  /** The opcode of the message being continued, to show a continuation's payload as its type. */
  private messageOpcode = 0x1;

  feed(chunk: Buffer): string[] {
    const lines: string[] = [];
    let bytes = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.skipping > 0) {
        const skipped = Math.min(this.skipping, bytes.length);
        this.skipping -= skipped;
        bytes = bytes.subarray(skipped);
        if (this.skipping > 0) break;
      }
      const line = this.frame(bytes);
      if (!line) break;
      lines.push(line.text);
      bytes = bytes.subarray(line.consumed);
    }
    this.buffered = Buffer.from(bytes);
    return lines;
  }

  /** One frame's line, once its header and enough of its payload for the preview are in. */
  private frame(b: Buffer): { text: string; consumed: number } | undefined {
    if (b.length < 2) return undefined;
    const first = b[0] as number;
    const second = b[1] as number;
    const masked = (second & 0x80) !== 0;
    let length = second & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const mask = masked ? b.subarray(at, at + 4) : undefined;
    if (masked) at += 4;
    if (b.length < at) return undefined;
    const opcode = first & 0x0f;
    const shown = opcode >= 0x8 ? length : Math.min(length, PREVIEW_BYTES);
    if (b.length < at + shown) return undefined;
    const preview = Buffer.from(b.subarray(at, at + shown));
    if (mask)
      for (let i = 0; i < preview.length; i++)
        preview[i] = (preview[i] as number) ^ (mask[i & 3] as number);

    const fin = (first & 0x80) !== 0;
    const rsv = ((first >> 4) & 7).toString(2).padStart(3, "0");
    const name = OPCODE_NAMES[opcode] ?? `reserved ${opcode}`;
    if (opcode === 0x1 || opcode === 0x2) this.messageOpcode = opcode;
    const kind = opcode === 0x0 ? this.messageOpcode : opcode;
    const text =
      `frame ${fin ? "FIN" : "---"} RSV=${rsv} ${name} (0x${opcode.toString(16)})` +
      ` ${masked ? "MASK" : "unmasked"} ${length} byte${length === 1 ? "" : "s"}` +
      payloadPreview(kind, preview, length);

    const available = b.length - at;
    const consumed = at + Math.min(length, available);
    this.skipping = length - Math.min(length, available);
    return { text, consumed };
  }
}

function payloadPreview(opcode: number, preview: Buffer, length: number): string {
  if (opcode === 0x8) {
    if (preview.length === 0) return "  (no code)";
    if (preview.length === 1) return `  (1 byte: not a close code) ${preview.toString("hex")}`;
    return `  code ${preview.readUInt16BE(0)} reason ${escaped(preview.subarray(2).toString("utf8"))}`;
  }
  if (length === 0) return "";
  const more = length > preview.length ? "..." : "";
  if (opcode === 0x2) return `  ${preview.toString("hex").replace(/(..)(?!$)/g, "$1 ")}${more}`;
  // Text, and the payload of a ping or pong: any bytes, mostly text.
  return `  ${escaped(preview.toString("utf8"))}${length > preview.length && !more ? "" : more}`;
}

/** What the decoder shows of an event stream: a block of lines, and what they are to a client. */
export interface StreamBlock {
  /** "event (3 lines)", "retry (reconnection time)", "comment", or fields that make no event. */
  label: string;
  lines: string[];
}

/** The name of a field line: up to its first colon, or the whole line (HTML standard, §9.2.6). */
function fieldName(line: string): string {
  const colon = line.indexOf(":");
  return colon === -1 ? line : line.slice(0, colon);
}

function lineCount(lines: string[]): string {
  return `${lines.length} line${lines.length === 1 ? "" : "s"}`;
}

/**
 * What a client makes of the field lines before a blank line: an event only if one of them is
 * `data` (§9.2.6: "If the data buffer is an empty string, ... return"). A `retry` alone sets the
 * reconnection time; other fields alone (an `id`, say) set what they set, and dispatch nothing.
 */
function blockOf(lines: string[]): StreamBlock {
  const names = lines.map(fieldName);
  if (names.includes("data")) return { label: `event (${lineCount(lines)})`, lines };
  if (names.every((name) => name === "retry")) {
    return { label: "retry (reconnection time, not an event)", lines };
  }
  return { label: `no data line, so no event (${lineCount(lines)})`, lines };
}

/**
 * The blocks of an event stream, in one response: each event's field lines together, once its
 * blank line has come; a comment line at once, on its own.
 */
export class EventStreamDecoder {
  private line = "";
  private lines: string[] = [];
  private decoder = new TextDecoder("utf-8");
  private dechunk: ChunkedDecoder | undefined;

  constructor(chunked: boolean) {
    if (chunked) this.dechunk = new ChunkedDecoder();
  }

  /** The blocks completed by this chunk. */
  feed(chunk: Buffer): StreamBlock[] {
    const body = this.dechunk ? this.dechunk.feed(chunk) : chunk;
    const text = this.line + this.decoder.decode(body, { stream: true });
    // CRLF, LF, or CR end a line; a CR at the very end may be the first half of a CRLF.
    const parts = text.split(/\r\n|\n|\r(?!$)/);
    this.line = parts.pop() ?? "";
    const blocks: StreamBlock[] = [];
    for (const part of parts) {
      const line = part.replace(/\r$/, "");
      if (line === "") {
        // A blank line dispatches the event (HTML standard, "Interpreting an event stream").
        if (this.lines.length > 0) blocks.push(blockOf(this.lines));
        this.lines = [];
      } else if (line.startsWith(":")) {
        // "If the line starts with a U+003A COLON character (:): Ignore the line."
        blocks.push({ label: "comment", lines: [line] });
      } else {
        this.lines.push(line);
      }
    }
    return blocks;
  }
}

/** Takes the chunked transfer coding off a body (RFC 9112 §7.1): the data, without sizes. */
export class ChunkedDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: "size" | "data" | "data-crlf" | "trailers" | "done" = "size";

  feed(chunk: Buffer): Buffer {
    let b = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.state === "size") {
        const end = b.indexOf("\r\n");
        if (end === -1) break;
        this.remaining = parseInt(b.subarray(0, end).toString("latin1"), 16);
        b = b.subarray(end + 2);
        this.state = this.remaining > 0 ? "data" : "trailers";
      } else if (this.state === "data") {
        if (b.length === 0) break;
        const take = Math.min(this.remaining, b.length);
        out.push(b.subarray(0, take));
        b = b.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = "data-crlf";
      } else if (this.state === "data-crlf") {
        if (b.length < 2) break;
        b = b.subarray(2);
        this.state = "size";
      } else if (this.state === "trailers") {
        // Trailer fields, if any, then the blank line that ends the message.
        const end = b.indexOf("\r\n");
        if (end === -1) break;
        b = b.subarray(end + 2);
        if (end === 0) this.state = "done";
      } else {
        break;
      }
    }
    this.buffered = Buffer.from(b);
    return Buffer.concat(out);
  }

  /** Whether the last chunk and the trailer section have been read. */
  get finished(): boolean {
    return this.state === "done";
  }

  /** Bytes after the end of the chunked body (the next response's), taken out of the decoder. */
  leftover(): Buffer {
    if (this.state !== "done") return Buffer.alloc(0);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}

/** What the server's response head says the rest of the connection is. */
export type ResponseKind =
  { kind: "websocket" } | { kind: "event-stream"; chunked: boolean } | { kind: "http" };

/**
 * Watches the server's side of a connection for response heads, and says when one turns the rest
 * of the connection into something else: a 101 into WebSocket frames, `Content-Type:
 * text/event-stream` into an event stream. A plain response's body is skipped by its framing
 * (Content-Length or chunked, RFC 9112 §6.3) to find the next head, since a browser may ask for an
 * event stream on a connection that has just served its page.
 */
export class ResponseWatcher {
  private buffered: Buffer = Buffer.alloc(0);
  private body: { length: number } | ChunkedDecoder | undefined;
  private gaveUp = false;

  /** What the connection became, and the bytes after that head; undefined while it is plain HTTP. */
  feed(chunk: Buffer): { kind: Exclude<ResponseKind, { kind: "http" }>; rest: Buffer } | undefined {
    if (this.gaveUp) return undefined;
    let b = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.body instanceof ChunkedDecoder) {
        this.body.feed(b);
        b = this.body.leftover();
        if (!this.body.finished) break;
        this.body = undefined;
        continue;
      }
      if (this.body) {
        const skipped = Math.min(this.body.length, b.length);
        this.body.length -= skipped;
        b = b.subarray(skipped);
        if (this.body.length > 0) break;
        this.body = undefined;
      }
      const end = b.indexOf("\r\n\r\n");
      if (end === -1) {
        if (b.length > 64 * 1024) this.gaveUp = true; // not a response head: stay raw
        break;
      }
      const lines = b.subarray(0, end).toString("latin1").split("\r\n");
      const rest = b.subarray(end + 4);
      const field = (name: string): string | undefined =>
        lines
          .find((line) => line.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim()
          .toLowerCase();
      const status = Number((lines[0] ?? "").split(" ")[1]);
      const chunked = field("transfer-encoding")?.includes("chunked") ?? false;
      if (status === 101) return this.became({ kind: "websocket" }, rest);
      if (field("content-type")?.startsWith("text/event-stream")) {
        return this.became({ kind: "event-stream", chunked }, rest);
      }
      b = rest;
      if (chunked) this.body = new ChunkedDecoder();
      else if (field("content-length") !== undefined)
        this.body = { length: Number(field("content-length")) };
      else if (!(status < 200 || status === 204 || status === 304)) {
        this.gaveUp = true; // a body that runs to the close
        break;
      }
    }
    this.buffered = Buffer.from(b);
    return undefined;
  }

  private became(
    kind: Exclude<ResponseKind, { kind: "http" }>,
    rest: Buffer,
  ): { kind: Exclude<ResponseKind, { kind: "http" }>; rest: Buffer } {
    this.gaveUp = true;
    return { kind, rest: Buffer.from(rest) };
  }
}
