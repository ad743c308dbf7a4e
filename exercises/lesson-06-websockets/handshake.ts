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
import { todo } from "#shared/todo.ts";
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
 * of this concatenated value to obtain a 20-byte value and base64-encode" it.
 */
export function acceptValue(key: string): string {
  // TODO: The key is used as the client sent it, base64 text: it is not decoded first.
  return todo("lesson-06-websockets", "acceptValue()", "Step 1");
}

/**
 * Checks an upgrade request as §4.2.1 lists what a server reads, and chooses the subprotocol.
 * Throws the HandshakeError of the first requirement the request breaks.
 */
export function checkHandshake(request: HttpRequest, options: HandshakeOptions = {}): Handshake {
  // TODO: §4.1: the method is GET (WS_NOT_GET, 405), over HTTP/1.1 or higher (WS_HTTP_VERSION).
  // TODO: §4.2.1: an Upgrade field naming "websocket" (WS_NO_UPGRADE) and a Connection field that
  // includes the token "Upgrade" (WS_NO_CONNECTION_UPGRADE), both "treated as an ASCII
  // case-insensitive value". Connection is a comma-separated list: "keep-alive, Upgrade" counts.
  // TODO: §4.2.1: Sec-WebSocket-Version is 13; another gets WS_BAD_VERSION, answered 426 (§4.4).
  // TODO: §4.2.1: Sec-WebSocket-Key is base64 that "when decoded, is 16 bytes in length"
  // (WS_BAD_KEY).
  // TODO: §10.2: with an allow-list of origins, a request whose Origin is not on it is refused
  // (WS_ORIGIN_NOT_ALLOWED, 403); a request with no Origin is not from a browser, and passes.
  // TODO: §4.2.2: of the subprotocols the client offers in Sec-WebSocket-Protocol (a
  // comma-separated list), choose the one the server prefers, or none.
  return todo("lesson-06-websockets", "checkHandshake()", "Step 1");
}

/** The 101 answer. */
export function handshakeResponse(handshake: Handshake): Buffer {
  // TODO: §4.2.2: "HTTP/1.1 101 Switching Protocols", Upgrade: websocket, Connection: Upgrade,
  // Sec-WebSocket-Accept, and Sec-WebSocket-Protocol when one was chosen, then the empty line.
  // TODO: §9.1: no Sec-WebSocket-Extensions: this server negotiates no extension, so one a
  // client offers (permessage-deflate) is declined by leaving it out.
  return todo("lesson-06-websockets", "handshakeResponse()", "Step 1");
}

/** A refused handshake: the status, the error's message as the body, and Connection: close. */
export function refusalResponse(error: { status: number; code: string; message: string }): Buffer {
  // TODO: A 426 names the version the server speaks, Sec-WebSocket-Version: 13 (§4.4); a 405
  // names the method it accepts, Allow: GET (RFC 9110 §15.5.6). Content-Length counts bytes.
  return todo("lesson-06-websockets", "refusalResponse()", "Step 1");
}
