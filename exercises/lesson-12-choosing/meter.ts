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
    return todo("lesson-12-choosing", "Meter.track()", "Step 1");
  }

  /** The totals so far, over every socket tracked. */
  read(): Traffic {
    return todo("lesson-12-choosing", "Meter.read()", "Step 1");
  }
}

/** What happened between two readings: `after` minus `before`, field by field. */
export function since(after: Traffic, before: Traffic): Traffic {
  return todo("lesson-12-choosing", "since()", "Step 1");
}
