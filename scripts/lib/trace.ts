import net from "node:net";
import { show } from "../../shared/testing/bytes.ts";

/**
 * A transparent TCP proxy that prints every chunk crossing each connection, in both directions,
 * escaped so that `\r\n` shows, and every open, half-close (FIN) and close. It sits in front of the
 * lesson's server, so what it prints is exactly what the peers sent each other.
 *
 *   client  ──►  trace proxy (the port you asked for)  ──►  lesson server (a private port)
 */
export function createTraceProxy(target: net.AddressInfo, log = console.log): net.Server {
  let next = 1;
  return net.createServer({ allowHalfOpen: true }, (client) => {
    const id = `#${next++}`;
    const upstream = net.connect({ host: target.address, port: target.port, allowHalfOpen: true });
    log(`${id} open     ${client.remoteAddress}:${client.remotePort}`);
    pipeTraced(client, upstream, `${id} client → server`, log);
    pipeTraced(upstream, client, `${id} server → client`, log);
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

/** A longer line is cut, with a count of what was left out, so a trace stays readable. */
export const MAX_SHOWN_PER_LINE = 512;

function pipeTraced(
  from: net.Socket,
  to: net.Socket,
  label: string,
  log: (line: string) => void,
): void {
  from.on("data", (chunk: Buffer) => {
    log(`${label}  ${chunk.length} byte${chunk.length === 1 ? "" : "s"}`);
    for (const line of splitAfterNewlines(chunk)) log(`    ${show(line, MAX_SHOWN_PER_LINE)}`);
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.on("end", () => {
    log(`${label}  FIN (${label.includes("client →") ? "client" : "server"} half-closed its side)`);
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
