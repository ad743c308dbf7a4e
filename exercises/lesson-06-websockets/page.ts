/**
 * Given code: the echo page (lessons/lesson-06-websockets/page/echo.html), for a plain GET, so a
 * browser can try the echo server at its own address. Its script opens a WebSocket back to the
 * same host, so the page and the socket share one origin.
 */
import { readFileSync } from "node:fs";

const PAGE_FILE = new URL("../../lessons/lesson-06-websockets/page/echo.html", import.meta.url);

/** The paths a plain GET (no Upgrade field) gets the page at. */
export const PAGE_PATHS: readonly string[] = ["/", "/echo.html"];

/** A whole HTTP/1.1 response holding the page, with Connection: close. */
export function pageResponse(): Buffer {
  const body = readFileSync(PAGE_FILE);
  const head =
    "HTTP/1.1 200 OK\r\n" +
    "Content-Type: text/html; charset=utf-8\r\n" +
    `Content-Length: ${body.length}\r\n` +
    "Cache-Control: no-store\r\n" +
    "Connection: close\r\n" +
    "\r\n";
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
