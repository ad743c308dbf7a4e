/**
 * What a screen costs on the wire, counted where nothing can hide it: at the server's sockets.
 *
 *   connections  TCP connections the server accepted
 *   requests     HTTP requests it received (and upgrades)
 *   bytes in     bytes it read: request heads and bodies (socket.bytesRead)
 *   bytes out    bytes it wrote: response heads and bodies (socket.bytesWritten)
 *
 * TCP/IP headers, handshakes and TLS are not counted: they are the same for REST and GraphQL, and
 * a socket does not see them. A meter only counts; `since()` turns two readings into what
 * happened between them, so one server can measure one screen after another.
 *
 * Used by the delivery benches of lessons 05 to 07, lesson 08's bench (the REST screen) and lesson
 * 09's (the same screen over GraphQL).
 */
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";

export interface WireCount {
  connections: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Metered {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** The counts since the server started. */
  read(): WireCount;
  /** Closes the server and every connection it still has. */
  close(): Promise<void>;
}

/** Starts `server` on 127.0.0.1 and a free port, counting what crosses its sockets. */
export async function startMetered(server: net.Server): Promise<Metered> {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  // Closed sockets stay in the set: their bytesRead and bytesWritten still count.
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  server.on("request", () => requests++);
  server.on("upgrade", () => requests++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    read() {
      let bytesIn = 0;
      let bytesOut = 0;
      for (const socket of sockets) {
        bytesIn += socket.bytesRead;
        bytesOut += socket.bytesWritten;
      }
      return { connections: sockets.size, requests, bytesIn, bytesOut };
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      if (server instanceof http.Server) server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** What happened between two readings of a meter. */
export function since(now: WireCount, before: WireCount): WireCount {
  return {
    connections: now.connections - before.connections,
    requests: now.requests - before.requests,
    bytesIn: now.bytesIn - before.bytesIn,
    bytesOut: now.bytesOut - before.bytesOut,
  };
}

/** Prints rows under a header: the first column to the left, the figures to the right. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}
