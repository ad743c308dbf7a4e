/**
 * Step 1: counting what crosses the wire. Every byte each way and every connection, counted at a
 * socket, so that a row's "bytes per operation" is what the transport really sent.
 */
import type net from "node:net";

/** What crossed a set of connections. "Up" is client to server, "down" server to client. */
export interface Traffic {
  /** Sockets tracked. */
  connections: number;
  /** Bytes read by the tracked sockets: what the clients sent. */
  bytesUp: number;
  /** Bytes written to the tracked sockets: what the clients were sent. */
  bytesDown: number;
}

/** Where a socket's own counters stood when tracking began. */
interface Start {
  read: number;
  written: number;
}

export class Meter {
  /** Sockets still open, with their counters at the moment they were tracked. */
  readonly #open = new Map<net.Socket, Start>();
  /** What the sockets that have closed carried, folded in once so that none is kept. */
  readonly #closed: Traffic = { connections: 0, bytesUp: 0, bytesDown: 0 };

  /**
   * Counts `socket` from now on: it is the client's end as the server (or the network between
   * them) sees it, so what it reads is up and what it writes is down. A socket that has closed
   * still counts.
   */
  track(socket: net.Socket): void {
    // The socket's own counters are bytes as they went through the kernel, whatever was written
    // (a Buffer, or a string in any encoding): `"é".length` is 1, but it is 2 bytes in UTF-8.
    // Reading them leaves the socket alone, where a "data" listener would start it flowing.
    this.#open.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    socket.once("close", () => {
      const counted = this.#count(socket);
      this.#closed.connections += 1;
      this.#closed.bytesUp += counted.bytesUp;
      this.#closed.bytesDown += counted.bytesDown;
      this.#open.delete(socket);
    });
  }

  /** The totals so far, over every socket tracked. */
  read(): Traffic {
    const total = { ...this.#closed };
    for (const socket of this.#open.keys()) {
      const counted = this.#count(socket);
      total.connections += 1;
      total.bytesUp += counted.bytesUp;
      total.bytesDown += counted.bytesDown;
    }
    return total;
  }

  #count(socket: net.Socket): Omit<Traffic, "connections"> {
    const start = this.#open.get(socket) ?? { read: 0, written: 0 };
    // Node keeps both counters after the socket is destroyed, so a closed socket reads right.
    return {
      bytesUp: socket.bytesRead - start.read,
      bytesDown: socket.bytesWritten - start.written,
    };
  }
}

/** What happened between two readings: `after` minus `before`, field by field. */
export function since(after: Traffic, before: Traffic): Traffic {
  return {
    connections: after.connections - before.connections,
    bytesUp: after.bytesUp - before.bytesUp,
    bytesDown: after.bytesDown - before.bytesDown,
  };
}
