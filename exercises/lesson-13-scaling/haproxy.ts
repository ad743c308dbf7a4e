/**
 * Step 3: the HAProxy configuration in front of the instances, as text for haproxy.cfg. Every
 * line is here for a reason the README gives; the short form of each is beside it.
 *
 *   clients ──► frontend :port ──► backend instances ──► a, b, c (checked with GET /healthz)
 */
import { todo } from "#shared/todo.ts";

export interface HaproxyOptions {
  /** The port HAProxy listens on for clients. */
  port: number;
  /** The instances behind it. */
  instances: readonly { name: string; port: number }[];
  /**
   * Sticky sessions: HAProxy sets a cookie naming the instance that answered, and sends the
   * client's later requests there. Socket.IO's long-polling start needs it (its requests must all
   * reach the instance that holds the session); a WebSocket is one connection and does not.
   */
  sticky?: boolean;
  /** How often each instance's /healthz is asked; 250 ms by default (seconds, in production). */
  checkIntervalMs?: number;
}

export function haproxyConfig(options: HaproxyOptions): string {
  // TODO: mode http, a balance for long-lived connections, option httpchk GET /healthz with short
  // inter/fall/rise, retries and option redispatch, timeout tunnel for WebSockets, and a cookie
  // per server when sticky (HAProxy Configuration Manual, sections 4.2 and 5.2).
  return todo("lesson-13-scaling", "haproxyConfig()", "Step 3");
}
