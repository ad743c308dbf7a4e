import net from "node:net";
import { show } from "../../shared/testing/bytes.ts";
import { Http2FrameDecoder, PREFACE } from "./trace-http2.ts";
import { EventStreamDecoder, FrameDecoder, ResponseWatcher } from "./trace-decode.ts";

/**
 * A transparent TCP proxy that prints every chunk crossing each connection, in both directions,
 * escaped so that `\r\n` shows, and every open, half-close (FIN) and close. It sits in front of the
 * lesson's server, so what it prints is exactly what the peers sent each other.
 *
 *   client  ──►  trace proxy (the port you asked for)  ──►  lesson server (a private port)
 *
 * Once the server answers `101 Switching Protocols`, the same TCP connection carries WebSocket
 * frames: from then on each frame is printed decoded, one line each, in both directions. A
 * `text/event-stream` response is printed one event at a time, as the server writes them. A
 * connection that opens with HTTP/2's preface (gRPC's, say) is printed frame by frame from its
 * first byte, headers decoded and gRPC messages shown inside DATA (see trace-http2.ts).
 */
export function createTraceProxy(target: net.AddressInfo, log = console.log): net.Server {
  let next = 1;
  return net.createServer({ allowHalfOpen: true }, (client) => {
    const id = `#${next++}`;
    const upstream = net.connect({ host: target.address, port: target.port, allowHalfOpen: true });
    log(`${id} open     ${client.remoteAddress}:${client.remotePort}`);
    const conversation: { now: Conversation } = {
      now: { mode: "http", watcher: new ResponseWatcher(), clientSpoke: false },
    };
    pipeTraced(client, upstream, `${id} client → server`, log, conversation, "client");
    pipeTraced(upstream, client, `${id} server → client`, log, conversation, "server");
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) log(`${id} closed`);
    };
    // When one side is gone, so is the conversation: close the other side too.
    client.on("close", () => {
      upstream.destroy();
      onClose();
    });
    upstream.on("close", () => {
      client.destroy();
      onClose();
    });
    client.on("error", (err) => {
      log(`${id} client error: ${err.message}`);
      upstream.destroy();
    });
    upstream.on("error", (err) => {
      log(`${id} server error: ${err.message}`);
      client.destroy();
    });
  });
}

/** What one connection carries now, as the server's responses said. */
type Conversation =
  | { mode: "http"; watcher: ResponseWatcher; clientSpoke: boolean }
  | { mode: "http2"; client: Http2FrameDecoder; server: Http2FrameDecoder }
  | { mode: "websocket"; client: FrameDecoder; server: FrameDecoder }
  | { mode: "event-stream"; events: EventStreamDecoder };

/** A longer line is cut, with a count of what was left out, so a trace stays readable. */
export const MAX_SHOWN_PER_LINE = 512;

function pipeTraced(
  from: net.Socket,
  to: net.Socket,
  label: string,
  log: (line: string) => void,
  conversation: { now: Conversation },
  side: "client" | "server",
): void {
  const raw = (bytes: Buffer): void => {
    log(`${label}  ${bytes.length} byte${bytes.length === 1 ? "" : "s"}`);
    for (const line of splitAfterNewlines(bytes)) log(`    ${show(line, MAX_SHOWN_PER_LINE)}`);
  };
  const frames = (decoder: FrameDecoder | Http2FrameDecoder, bytes: Buffer): void => {
    for (const line of decoder.feed(bytes)) log(`${label}  ${line}`);
  };
  const events = (decoder: EventStreamDecoder, bytes: Buffer): void => {
    for (const block of decoder.feed(bytes)) {
      log(`${label}  ${block.label}`);
      for (const line of block.lines) log(`    ${show(line, MAX_SHOWN_PER_LINE)}`);
    }
  };
  from.on("data", (chunk: Buffer) => {
    const opening = conversation.now;
    if (opening.mode === "http" && !opening.clientSpoke) {
      // RFC 9113 §3.4: an HTTP/2 client's first bytes are the preface (with prior knowledge, as
      // gRPC without TLS does), and a server may send its SETTINGS frame before reading it; an
      // HTTP/1.1 server never speaks first. From there on, frames both ways.
      const start = Math.min(chunk.length, PREFACE.length);
      const http2 =
        side === "client"
          ? // "PRI " at least: a one-byte "P" may as well begin "POST".
            start >= 4 && chunk.subarray(0, start).equals(PREFACE.subarray(0, start))
          : chunk.length >= 9 && chunk[3] === 0x4 && chunk.readUInt32BE(5) === 0;
      if (side === "client") opening.clientSpoke = true;
      if (http2) {
        const grpcStreams = new Set<number>();
        conversation.now = {
          mode: "http2",
          client: new Http2FrameDecoder("client", grpcStreams),
          server: new Http2FrameDecoder("server", grpcStreams),
        };
        log(`${label}  HTTP/2 (RFC 9113): each frame below, decoded`);
      }
    }
    const c = conversation.now;
    if (c.mode === "http2") frames(side === "client" ? c.client : c.server, chunk);
    else if (c.mode === "websocket") frames(side === "client" ? c.client : c.server, chunk);
    else if (c.mode === "event-stream" && side === "server") events(c.events, chunk);
    else if (c.mode === "http" && side === "server") {
      const turned = c.watcher.feed(chunk);
      // The head (and any plain responses before it) as bytes; what follows it decoded.
      raw(turned ? chunk.subarray(0, chunk.length - turned.rest.length) : chunk);
      if (turned?.kind.kind === "websocket") {
        log(`${label}  101: the same TCP connection now carries WebSocket frames (RFC 6455 §5)`);
        const server = new FrameDecoder();
        conversation.now = { mode: "websocket", client: new FrameDecoder(), server };
        frames(server, turned.rest);
      } else if (turned?.kind.kind === "event-stream") {
        log(`${label}  text/event-stream: each event below as the server wrote it`);
        const decoder = new EventStreamDecoder(turned.kind.chunked);
        conversation.now = { mode: "event-stream", events: decoder };
        events(decoder, turned.rest);
      }
    } else raw(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.on("end", () => {
    log(`${label}  FIN (${side} half-closed its side)`);
    to.end();
  });
}

/** Splits a chunk after each LF, so a trace of a text protocol reads one line per row. */
export function splitAfterNewlines(chunk: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, start)) {
    lines.push(chunk.subarray(start, lf + 1));
    start = lf + 1;
  }
  if (start < chunk.length) lines.push(chunk.subarray(start));
  return lines;
}
