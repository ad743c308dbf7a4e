/**
 * Step 2: a network with a round-trip time, in user space. A TCP proxy on 127.0.0.1 that forwards
 * to the server and holds every byte back as a real network would.
 */
import type { Meter } from "./meter.ts";
import { todo } from "#shared/todo.ts";

export interface NetworkOptions {
  /** The round-trip time to simulate (ms): each direction takes half of it. 0 for none. */
  rttMs: number;
  /** Counts every connection made through the network, if given. */
  meter?: Meter;
}

export interface Network {
  /** The port clients connect to instead of the server's. */
  readonly port: number;
  /** Stops taking connections and ends every one still open. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 and a free port in front of `target`. */
export function startNetwork(
  target: { host: string; port: number },
  options: NetworkOptions,
): Promise<Network> {
  // TODO: A TCP server on 127.0.0.1, port 0, that connects each client to `target` and carries
  // bytes both ways, each direction rttMs / 2 late, in the order they were sent. Charge the
  // connection's setup as RFC 9293 §3.5's three-way handshake would: nothing the client sends
  // leaves before one round trip after it connected (its data rides with the handshake's third
  // segment), nothing the server sends before one and a half. A FIN (end) and a close travel the
  // same way, after the bytes before them; a target that refuses closes the client's connection.
  // Track each client's socket with options.meter. Keep to what a socket can hold: pause a sender
  // whose bytes are not read (backpressure). close() stops the server and ends every connection.
  return todo("lesson-12-choosing", "startNetwork()", "Step 2");
}
