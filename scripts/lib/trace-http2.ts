/**
 * HTTP/2 frames for `npm run serve -- <lesson> --trace`, one direction of one connection at a
 * time: what the proxy prints instead of raw bytes once a client opens with HTTP/2's preface.
 *
 * - The client's connection preface (RFC 9113 §3.4), then every frame (§4.1): its type, flags,
 *   stream id and length, one line each, however the frames are cut into TCP chunks.
 * - SETTINGS with their values (§6.5.2), WINDOW_UPDATE's increment, RST_STREAM's and GOAWAY's
 *   error codes (§7), PING's opaque data.
 * - HEADERS (and CONTINUATION) decoded with HPACK (RFC 7541), one header per line, with the
 *   direction's own dynamic table, as a peer decodes them. A second HEADERS on a stream that
 *   already had its response headers is labelled as trailers.
 * - DATA on a stream whose content-type is application/grpc: the gRPC Length-Prefixed-Messages
 *   inside it (gRPC's PROTOCOL-HTTP2.md), each as its Compressed-Flag, length and bytes in hex,
 *   even when one is cut over several DATA frames. Other DATA is shown escaped.
 *
 * Everything is a pure function of the bytes: feed() takes a chunk and returns the lines it
 * completed, keeping the rest for the next chunk.
 */
// hpack.js ships no types: hpack.d.ts declares the part used here, for every tsconfig that
// reaches this file (the solutions one does not include scripts/).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./hpack.d.ts" />
import hpack from "hpack.js";
import { show } from "../../shared/testing/bytes.ts";

/** RFC 9113 §3.4: every HTTP/2 connection starts with these 24 bytes from the client. */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** The bytes of a message a line shows in hex, at most. */
export const HEX_BYTES = 64;

/** Frame types, RFC 9113 §6. */
const TYPES: Readonly<Record<number, string>> = {
  0x0: "DATA",
  0x1: "HEADERS",
  0x2: "PRIORITY",
  0x3: "RST_STREAM",
  0x4: "SETTINGS",
  0x5: "PUSH_PROMISE",
  0x6: "PING",
  0x7: "GOAWAY",
  0x8: "WINDOW_UPDATE",
  0x9: "CONTINUATION",
};

/** Flag names by frame type: END_STREAM and ACK are both 0x1, on different frames. */
function flagNames(type: number, flags: number): string {
  const names: string[] = [];
  const add = (bit: number, name: string): void => {
    if (flags & bit) names.push(name);
  };
  if (type === 0x4 || type === 0x6) add(0x1, "ACK");
  if (type === 0x0 || type === 0x1) add(0x1, "END_STREAM");
  if (type === 0x1 || type === 0x5 || type === 0x9) add(0x4, "END_HEADERS");
  if (type === 0x0 || type === 0x1 || type === 0x5) add(0x8, "PADDED");
  if (type === 0x1) add(0x20, "PRIORITY");
  return names.length > 0 ? names.join("|") : flags === 0 ? "-" : `0x${flags.toString(16)}`;
}

/** SETTINGS parameters, RFC 9113 §6.5.2. */
const SETTINGS: Readonly<Record<number, string>> = {
  0x1: "HEADER_TABLE_SIZE",
  0x2: "ENABLE_PUSH",
  0x3: "MAX_CONCURRENT_STREAMS",
  0x4: "INITIAL_WINDOW_SIZE",
  0x5: "MAX_FRAME_SIZE",
  0x6: "MAX_HEADER_LIST_SIZE",
  0x8: "ENABLE_CONNECT_PROTOCOL",
};

/** Error codes, RFC 9113 §7. */
const ERRORS: readonly string[] = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

function errorName(code: number): string {
  return ERRORS[code] ?? `0x${code.toString(16)}`;
}

/** What the trace knows of one stream, from this direction's frames. */
interface StreamSeen {
  /** HEADERS frames seen: the second one on a stream is its trailers. */
  headerBlocks: number;
  grpc: boolean;
  /** gRPC message bytes not yet a whole Length-Prefixed-Message. */
  pending: Buffer;
}

/**
 * The frames of one direction of one HTTP/2 connection. `side` is who sends them: the client's
 * bytes start with the preface.
 */
export class Http2FrameDecoder {
  private readonly side: "client" | "server";
  private buffered: Buffer = Buffer.alloc(0);
  private state: "preface" | "frames" | "broken";
  private readonly decompressor = hpack.decompressor.create({ table: { size: 4096 } });
  /** A header block whose HEADERS had no END_HEADERS: CONTINUATION frames complete it. */
  private block: { stream: number; fragments: Buffer[] } | undefined;
  private readonly streams = new Map<number, StreamSeen>();
  /**
   * The streams the other direction said are gRPC (the client's request headers say so before
   * the server's response does); the proxy shares one set between the two decoders.
   */
  private readonly grpcStreams: Set<number>;

  constructor(side: "client" | "server", grpcStreams: Set<number> = new Set()) {
    this.side = side;
    this.state = side === "client" ? "preface" : "frames";
    this.grpcStreams = grpcStreams;
  }

  feed(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    if (this.state === "broken") return lines;
    let bytes =
      this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    if (this.state === "preface") {
      if (bytes.length < PREFACE.length) {
        this.buffered = bytes;
        return lines;
      }
      if (!bytes.subarray(0, PREFACE.length).equals(PREFACE)) {
        this.state = "broken";
        lines.push(`not an HTTP/2 preface: ${show(bytes, 64)}`);
        return lines;
      }
      lines.push(`preface ${show(PREFACE)} (RFC 9113 §3.4)`);
      bytes = bytes.subarray(PREFACE.length);
      this.state = "frames";
    }
    // RFC 9113 §4.1: a 9-byte header (length 24 bits, type, flags, R + stream id 31 bits).
    while (bytes.length >= 9) {
      const length = bytes.readUIntBE(0, 3);
      if (bytes.length < 9 + length) break;
      const type = bytes[3] as number;
      const flags = bytes[4] as number;
      const stream = bytes.readUInt32BE(5) & 0x7fff_ffff;
      const payload = bytes.subarray(9, 9 + length);
      bytes = bytes.subarray(9 + length);
      const name = TYPES[type] ?? `UNKNOWN(0x${type.toString(16)})`;
      lines.push(`${name} flags=${flagNames(type, flags)} stream=${stream} length=${length}`);
      for (const line of this.payload(type, flags, stream, payload)) lines.push(`    ${line}`);
    }
    this.buffered = Buffer.from(bytes);
    return lines;
  }

  private payload(type: number, flags: number, stream: number, payload: Buffer): string[] {
    switch (type) {
      case 0x0:
        return this.data(stream, unpadded(flags, payload));
      case 0x1: {
        let fragment = unpadded(flags, payload);
        if (flags & 0x20) fragment = fragment.subarray(5); // stream dependency and weight
        return this.headerFragment(stream, flags, fragment);
      }
      case 0x9:
        return this.headerFragment(stream, flags, payload);
      case 0x3:
        return [`error ${errorName(payload.length >= 4 ? payload.readUInt32BE(0) : -1)}`];
      case 0x4: {
        const lines: string[] = [];
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          const id = payload.readUInt16BE(at);
          lines.push(`${SETTINGS[id] ?? `0x${id.toString(16)}`} = ${payload.readUInt32BE(at + 2)}`);
        }
        return lines;
      }
      case 0x6:
        return [`opaque ${payload.toString("hex")}`];
      case 0x7: {
        if (payload.length < 8) return [];
        const last = payload.readUInt32BE(0) & 0x7fff_ffff;
        const debug = payload.subarray(8);
        return [
          `last stream ${last}, error ${errorName(payload.readUInt32BE(4))}${
            debug.length > 0 ? `, ${show(debug, 64)}` : ""
          }`,
        ];
      }
      case 0x8:
        return payload.length >= 4 ? [`increment ${payload.readUInt32BE(0) & 0x7fff_ffff}`] : [];
      default:
        return [];
    }
  }

  private seen(stream: number): StreamSeen {
    let seen = this.streams.get(stream);
    if (!seen) {
      seen = { headerBlocks: 0, grpc: false, pending: Buffer.alloc(0) };
      this.streams.set(stream, seen);
    }
    return seen;
  }

  private headerFragment(stream: number, flags: number, fragment: Buffer): string[] {
    this.block ??= { stream, fragments: [] };
    this.block.fragments.push(fragment);
    if (!(flags & 0x4)) return []; // END_HEADERS is on a CONTINUATION still to come
    const block = Buffer.concat(this.block.fragments);
    this.block = undefined;
    const seen = this.seen(stream);
    seen.headerBlocks++;
    const lines: string[] = [];
    if (this.side === "server" && seen.headerBlocks === 2) lines.push("(trailers)");
    let headers: { name: string; value: string }[];
    try {
      headers = decodeHeaderBlock(this.decompressor, block);
    } catch (error) {
      this.state = "broken";
      return [`HPACK error: ${(error as Error).message}; the rest is not decoded`];
    }
    const status = headers.find((h) => h.name === "grpc-status");
    if (this.side === "server" && seen.headerBlocks === 1 && flags & 0x1 && status) {
      lines.push("(Trailers-Only: the call failed before any message)");
    }
    for (const { name, value } of headers) {
      lines.push(`${name}: ${value}`);
      if (name === "content-type" && /^application\/grpc/.test(value)) {
        seen.grpc = true;
        this.grpcStreams.add(stream);
      }
    }
    return lines;
  }

  private data(stream: number, payload: Buffer): string[] {
    const seen = this.seen(stream);
    if (!seen.grpc && !this.grpcStreams.has(stream)) {
      return payload.length > 0 ? [show(payload, HEX_BYTES * 2)] : [];
    }
    // DATA frame boundaries have no relation to Length-Prefixed-Message boundaries.
    const lines: string[] = [];
    let bytes = seen.pending.length === 0 ? payload : Buffer.concat([seen.pending, payload]);
    while (bytes.length >= 5) {
      const length = bytes.readUInt32BE(1);
      if (bytes.length < 5 + length) break;
      const message = bytes.subarray(5, 5 + length);
      const cut = length > HEX_BYTES ? ` ... (${length - HEX_BYTES} more bytes)` : "";
      lines.push(
        `gRPC message: flag ${bytes[0]}, length ${length}: ${message.subarray(0, HEX_BYTES).toString("hex")}${cut}`,
      );
      bytes = bytes.subarray(5 + length);
    }
    if (bytes.length > 0) {
      lines.push(`(${bytes.length} bytes of a gRPC message continued in the next DATA frame)`);
    }
    seen.pending = Buffer.from(bytes);
    return lines;
  }
}

function unpadded(flags: number, payload: Buffer): Buffer {
  if (!(flags & 0x8) || payload.length === 0) return payload;
  const pad = payload[0] as number;
  return payload.subarray(1, Math.max(1, payload.length - pad));
}

function decodeHeaderBlock(
  decompressor: hpack.Decompressor,
  block: Buffer,
): { name: string; value: string }[] {
  decompressor.write(block);
  // Without a callback, execute() emits a decoding error, which throws with no listener: the
  // caller catches it here, at once.
  decompressor.execute();
  const headers: { name: string; value: string }[] = [];
  for (let header = decompressor.read(); header !== null; header = decompressor.read()) {
    headers.push(header);
  }
  return headers;
}

/** A whole conversation, both directions in order: a pure function for tests and tools. */
export function traceHttp2(
  chunks: readonly { from: "client" | "server"; bytes: Uint8Array }[],
): string[] {
  const grpcStreams = new Set<number>();
  const decoders = {
    client: new Http2FrameDecoder("client", grpcStreams),
    server: new Http2FrameDecoder("server", grpcStreams),
  };
  const arrow = { client: "client → server", server: "server → client" };
  return chunks.flatMap(({ from, bytes }) =>
    decoders[from].feed(bytes).map((line) => `${arrow[from]}  ${line}`),
  );
}
