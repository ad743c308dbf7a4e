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
  return todo("lesson-12-choosing", "startNetwork()", "Step 2");
}
