/**
 * Step 3: the HAProxy configuration in front of the instances, as text for haproxy.cfg. Every
 * line is here for a reason the README gives; the short form of each is beside it.
 *
 *   clients ──► frontend :port ──► backend instances ──► a, b, c (checked with GET /healthz)
 */

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
  const inter = options.checkIntervalMs ?? 250;
  const cookie = (name: string) => (options.sticky ? ` cookie ${name}` : "");
  const lines = [
    "global",
    "  log stderr format raw local0 notice",
    "",
    "defaults",
    // Layer 7: HAProxy reads each request, so it can check /healthz and set a cookie.
    "  mode http",
    "  log global",
    "  option dontlognull",
    // Connecting to a server: fail fast, so that a retry can go elsewhere.
    "  timeout connect 1s",
    // A request or response that stalls half-way (an HTTP request, a long poll).
    "  timeout client 30s",
    "  timeout server 30s",
    // Once a connection is upgraded to a WebSocket it is a tunnel: idle for this long, it is cut.
    "  timeout tunnel 1h",
    "  timeout http-request 5s",
    // A health check that has no answer after this counts as failed: a paused instance.
    `  timeout check ${inter}ms`,
    // A failed connection is tried again, up to 3 times...
    "  retries 3",
    // ...and each retry may go to another server, not the one that refused.
    "  option redispatch 1",
    "",
    "frontend clients",
    `  bind 127.0.0.1:${options.port}`,
    "  default_backend instances",
    "",
    "backend instances",
    // WebSocket connections stay open for hours: leastconn sends each new one to the instance
    // holding the fewest, where roundrobin would count requests, not what is open now.
    "  balance leastconn",
    "  option httpchk GET /healthz",
    "  http-check expect status 200",
    ...(options.sticky ? ["  cookie SERVERID insert indirect nocache"] : []),
    // Checked every `inter`; down after 2 failures in a row, up again after 2 successes; a
    // server marked down has its connections closed, so that its clients reconnect elsewhere.
    `  default-server check inter ${inter}ms fall 2 rise 2 on-marked-down shutdown-sessions`,
    ...options.instances.map(
      ({ name, port }) => `  server ${name} 127.0.0.1:${port}${cookie(name)}`,
    ),
    "",
  ];
  return lines.join("\n");
}
