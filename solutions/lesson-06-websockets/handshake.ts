/**
 * The opening handshake (RFC 6455 §4). The client sends an ordinary HTTP/1.1 GET that asks to
 * switch protocols; the server answers 101, and from the byte after that answer's empty line the
 * SAME TCP connection carries WebSocket frames, both ways:
 *
 *   GET /chat HTTP/1.1                            HTTP/1.1 101 Switching Protocols
 *   Host: server.example.com                      Upgrade: websocket
 *   Upgrade: websocket                            Connection: Upgrade
 *   Connection: Upgrade                           Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
 *   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
 *   Sec-WebSocket-Version: 13
 *
 * checkHandshake() reads the request (parsed by lesson 03's parser) and either says what to answer
 * or throws the HandshakeError that names what is wrong; the two writers make the bytes.
 */
import { createHash } from "node:crypto";
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";
import { HandshakeError } from "./errors.ts";

/** §1.3: the GUID every server appends to the key; "unlikely to be used by network endpoints
 * that do not understand the WebSocket Protocol". */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The only version of the protocol RFC 6455 defines (§4.1). */
export const WEBSOCKET_VERSION = "13";

/** Who may open a WebSocket, and in which subprotocols. */
export interface HandshakeOptions {
  /** Origins allowed to open a WebSocket; a request without Origin (not a browser) is allowed. */
  origins?: readonly string[];
  /** Subprotocols the server speaks, in order of preference. */
  protocols?: readonly string[];
}

/** What the server answers an acceptable handshake with. */
export interface Handshake {
  /** The Sec-WebSocket-Accept value: proof that this server read this request's key. */
  accept: string;
  /** The subprotocol chosen, if the client offered one the server speaks. */
  protocol: string | undefined;
}

/**
 * §4.2.2: "concatenate this [the key] with the Globally Unique Identifier ... take the SHA-1 hash
 * of this concatenated value to obtain a 20-byte value and base64-encode" it. The key is used as
 * the client sent it, base64 text, not decoded.
 */
export function acceptValue(key: string): string {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID, "latin1")
    .digest("base64");
}

/** Whether a comma-separated field value holds `token`, compared case-insensitively. */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  return value.split(",").some((item) => item.trim().toLowerCase() === wanted);
}

// §4.1: the key is "a randomly selected 16-byte value that has been base64-encoded": 22
// base64 characters and "==", which decode to exactly 16 bytes.
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Checks an upgrade request as §4.2.1 lists what a server reads, in that order, and chooses the
 * subprotocol. Throws the HandshakeError of the first requirement the request breaks.
 */
export function checkHandshake(request: HttpRequest, options: HandshakeOptions = {}): Handshake {
  const { headers } = request;
  // §4.2.1 (1): "An HTTP/1.1 or higher GET request".
  if (request.method !== "GET") {
    throw new HandshakeError("WS_NOT_GET", `A WebSocket handshake is a GET, not ${request.method}`);
  }
  if (request.version !== "HTTP/1.1") {
    throw new HandshakeError("WS_HTTP_VERSION", `A WebSocket handshake needs HTTP/1.1`);
  }
  // (3) "An |Upgrade| header field containing the value "websocket", treated as an ASCII
  // case-insensitive value."
  if (!hasToken(headers["upgrade"], "websocket")) {
    throw new HandshakeError(
      "WS_NO_UPGRADE",
      `Upgrade must name websocket, not ${JSON.stringify(headers["upgrade"] ?? null)}`,
    );
  }
  // (4) "A |Connection| header field that includes the token "Upgrade", treated as an ASCII
  // case-insensitive value": a list such as "keep-alive, Upgrade" counts.
  if (!hasToken(headers["connection"], "upgrade")) {
    throw new HandshakeError(
      "WS_NO_CONNECTION_UPGRADE",
      `Connection must include the Upgrade token, not ${JSON.stringify(headers["connection"] ?? null)}`,
    );
  }
  // (6) "A |Sec-WebSocket-Version| header field, with a value of 13."
  if (headers["sec-websocket-version"] !== WEBSOCKET_VERSION) {
    throw new HandshakeError(
      "WS_BAD_VERSION",
      `Sec-WebSocket-Version ${JSON.stringify(headers["sec-websocket-version"] ?? null)} is not 13`,
    );
  }
  // (5) "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when decoded, is
  // 16 bytes in length."
  const key = headers["sec-websocket-key"];
  if (key === undefined || !KEY.test(key)) {
    throw new HandshakeError(
      "WS_BAD_KEY",
      `Sec-WebSocket-Key must be 16 bytes in base64, not ${JSON.stringify(key ?? null)}`,
    );
  }
  // §10.2: a browser always sends the page's Origin. A server that trusts the browser's cookies
  // must check it, or any site the user visits can open a socket in the user's name
  // (cross-site WebSocket hijacking). A request with no Origin is not from a browser.
  const origin = headers["origin"];
  if (options.origins !== undefined && origin !== undefined && !options.origins.includes(origin)) {
    throw new HandshakeError("WS_ORIGIN_NOT_ALLOWED", `Origin ${origin} is not allowed`);
  }
  return { accept: acceptValue(key), protocol: chooseProtocol(headers, options.protocols ?? []) };
}

/**
 * §4.2.2: the server picks "one or none" of the subprotocols the client offered; this one takes
 * its own most preferred. The field may come on several lines, combined with commas.
 */
function chooseProtocol(
  headers: HttpRequest["headers"],
  spoken: readonly string[],
): string | undefined {
  const offered = headers["sec-websocket-protocol"];
  if (offered === undefined) return undefined;
  const names = offered.split(",").map((name) => name.trim());
  return spoken.find((name) => names.includes(name));
}

/**
 * The 101 answer. No Sec-WebSocket-Extensions: the server negotiates none, so permessage-deflate
 * offered by a client is declined by leaving it out (§9.1), and frames keep their RSV bits 0.
 */
export function handshakeResponse(handshake: Handshake): Buffer {
  const protocol =
    handshake.protocol === undefined ? "" : `Sec-WebSocket-Protocol: ${handshake.protocol}\r\n`;
  return Buffer.from(
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${handshake.accept}\r\n` +
      protocol +
      "\r\n",
    "latin1",
  );
}

const REASON: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  426: "Upgrade Required",
};

/**
 * A refused handshake: the status, the error's message as the body, and Connection: close. A 426
 * names the version the server speaks (§4.4); a 405 names the method it accepts (RFC 9110 §15.5.6).
 */
export function refusalResponse(error: { status: number; code: string; message: string }): Buffer {
  const body = `${error.code}: ${error.message}\n`;
  const extra =
    error.status === 426
      ? `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}\r\n`
      : error.status === 405
        ? "Allow: GET\r\n"
        : "";
  return Buffer.from(
    `HTTP/1.1 ${error.status} ${REASON[error.status] ?? "Bad Request"}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      extra +
      "Connection: close\r\n" +
      "\r\n" +
      body,
    "utf8",
  );
}
