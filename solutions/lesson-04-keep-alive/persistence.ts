/**
 * Will the connection stay open after this response, and what does the response say about it?
 *
 *   request                                       persists   the response says
 *   GET / HTTP/1.1                                yes        Connection: keep-alive
 *                                                            Keep-Alive: timeout=5, max=99
 *   GET / HTTP/1.1  + Connection: close           no         Connection: close
 *   GET / HTTP/1.0                                no         Connection: close
 *   GET / HTTP/1.0  + Connection: keep-alive      yes        Connection: keep-alive, Keep-Alive
 */
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";

/**
 * The connection options a Connection header lists: `Connection = #connection-option`, a
 * comma-separated list, and "Connection options are case-insensitive" (RFC 9110 §7.6.1).
 */
export function connectionOptions(value: string | undefined): Set<string> {
  const options = new Set<string>();
  for (const option of (value ?? "").split(",")) {
    const token = option.trim().toLowerCase();
    if (token !== "") options.add(token);
  }
  return options;
}

/**
 * RFC 9112 §9.3: does the connection persist after this message? The rule reads the same for a
 * request (the server's question) and a response (the client's, in pool.ts).
 */
export function persists(message: Pick<HttpRequest, "version" | "headers">): boolean {
  const options = connectionOptions(message.headers["connection"]);
  // "If the "close" connection option is present (Section 9.6), the connection will not persist
  // after the current response; else,
  if (options.has("close")) return false;
  // If the received protocol is HTTP/1.1 (or later), the connection will persist after the
  // current response; else,
  if (message.version === "HTTP/1.1") return true;
  // If the received protocol is HTTP/1.0, the "keep-alive" connection option is present, [...]
  // and the recipient wishes to honor the HTTP/1.0 "keep-alive" mechanism, the connection will
  // persist after the current response; otherwise,
  // The connection will close after the current response."
  return options.has("keep-alive");
}

export interface Persistence {
  /** Whether the connection stays open after this response. */
  open: boolean;
  /** How long the server keeps an idle connection open, in milliseconds. */
  idleTimeoutMs: number;
  /** How many more requests the connection will take after this one. */
  remaining: number;
}

/**
 * The header fields that tell the client what happens to the connection after this response.
 */
export function connectionFields({
  open,
  idleTimeoutMs,
  remaining,
}: Persistence): Record<string, string> {
  // RFC 9112 §9.6: "A server that sends a "close" connection option MUST initiate closure of the
  // connection (see below) after it sends the response containing the "close" connection option."
  if (!open) return { Connection: "close" };
  // The Keep-Alive header (RFC 2068 §19.7.1.1, an HTTP/1.0 extension; RFC 9110 does not define
  // it) is what clients read the idle timeout from. "If the Keep-Alive header is sent, the
  // corresponding connection token MUST be transmitted": hence Connection: keep-alive, which an
  // HTTP/1.0 client needs anyway to know its connection stays open. The timeout is rounded DOWN to
  // whole seconds: a client told 5 when it is 5.9 stops reusing the connection a little early; a
  // client told 6 would reuse it after the server has closed it.
  const timeout = Math.floor(idleTimeoutMs / 1000);
  return { Connection: "keep-alive", "Keep-Alive": `timeout=${timeout}, max=${remaining}` };
}
