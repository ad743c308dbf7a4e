/**
 * Step 1: counting what crosses the wire. Every byte each way and every connection, counted at a
 * socket, so that a row's "bytes per operation" is what the transport really sent.
 */
import type net from "node:net";
import { todo } from "#shared/todo.ts";

/** What crossed a set of connections. "Up" is client to server, "down" server to client. */
export interface Traffic {
  connections: number;
  bytesUp: number;
  bytesDown: number;
}

export class Meter {
  /**
   * Counts `socket` from now on: it is the client's end as the server (or the network between
   * them) sees it, so what it reads is up and what it writes is down. A socket that has closed
   * still counts.
   */
  track(socket: net.Socket): void {
    // TODO: Count what `socket` reads (up) and writes (down) from this call on, in bytes as they
    // cross the wire, not characters: "é" is one character and two bytes of UTF-8. A socket keeps
    // counting after it closes has ended: what it carried stays in the totals, and it stays one
    // connection. Counting must not change the socket (a "data" listener would start it flowing).
    return todo("lesson-12-choosing", "Meter.track()", "Step 1");
  }

  /** The totals so far, over every socket tracked. */
  read(): Traffic {
    // TODO: The connections tracked so far, and the bytes each way over all of them, open or
    // closed.
    return todo("lesson-12-choosing", "Meter.read()", "Step 1");
  }
}

/** What happened between two readings: `after` minus `before`, field by field. */
export function since(after: Traffic, before: Traffic): Traffic {
  // TODO: Each field of `after` less the same field of `before`.
  return todo("lesson-12-choosing", "since()", "Step 1");
}
