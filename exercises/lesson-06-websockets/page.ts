/**
 * Given code: the echo page (lessons/lesson-06-websockets/page/echo.html), for a plain GET, so a
 * browser can try the echo server at its own address. Its script opens a WebSocket back to the
 * same host, so the page and the socket share one origin.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PAGE = path.join("lessons", "lesson-06-websockets", "page", "echo.html");

/**
 * The page's file, found from this file's folder upwards: the course's root holds lessons/, and
 * this file may be in exercises/, solutions/ or a copy the course's checks make further down.
 */
function pageFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, PAGE);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${PAGE} is missing`);
    dir = parent;
  }
}

/** The paths a plain GET (no Upgrade field) gets the page at. */
export const PAGE_PATHS: readonly string[] = ["/", "/echo.html"];

/** A whole HTTP/1.1 response holding the page, with Connection: close. */
export function pageResponse(): Buffer {
  const body = readFileSync(pageFile());
  const head =
    "HTTP/1.1 200 OK\r\n" +
    "Content-Type: text/html; charset=utf-8\r\n" +
    `Content-Length: ${body.length}\r\n` +
    "Cache-Control: no-store\r\n" +
    "Connection: close\r\n" +
    "\r\n";
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
