/**
 * The lesson's three WebSocket servers on one port, as `npm run serve -- lesson-06` starts them:
 *
 *   GET /                       the chat page (page/index.html), a Socket.IO client
 *   GET /<name>.html|.js|.css   the other files of page/ (the echo page, the chat page's script)
 *   /socket.io/...              Socket.IO: its long-polling requests, its upgrade, and its own
 *                               client script at /socket.io/socket.io.js (Step 5)
 *   upgrade to /echo            the hand-written server of Steps 1-3 (echo.ts serveUpgrade)
 *   upgrade to /chat            the chat on the ws package (Step 4, chat.ts)
 *   any other upgrade           404
 *
 * This file is given: it only routes. Node's own HTTP server reads every request, because ws and
 * Socket.IO both sit on an http.Server; the hand-written server gets the request as lesson 03's
 * parser would have given it (an HttpRequest: method, target, version, the header fields by
 * lower-case name with repeats joined by ", ", RFC 9110 §5.3, and an empty body), the socket, and
 * the bytes that came after the request's blank line. An upgraded WebSocket is the SAME TCP
 * connection as the HTTP request that asked for it: after the 101 the bytes on it are frames.
 *
 * The learner's files are loaded one by one, each on its own: a file not written yet, or one that
 * does not compile, takes only its own path down. Its requests get 501 with the reason (the stub's
 * message names the function and the README step), and the others keep working. An error thrown
 * later, inside a connection's event handlers, ends that connection only, and is logged.
 *
 * createServer() returns a node:net server, unstarted: it hands each connection to the internal
 * http.Server. Closing it and listening again (a restart) leaves Socket.IO's sessions in place, so
 * a client that comes back within the recovery window is recovered.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import type stream from "node:stream";
import { fileURLToPath } from "node:url";
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";

/** What this file uses of echo.ts (Steps 1-3). */
interface EchoModule {
  serveUpgrade(
    socket: net.Socket,
    request: HttpRequest,
    head: Buffer,
    options?: { origins?: readonly string[] },
  ): void;
}

/** What this file uses of chat.ts (Step 4). */
interface ChatModule {
  createChat(options: {
    tokens: (token: string) => string | undefined;
    origins?: readonly string[];
  }): {
    handleUpgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void;
    close(): Promise<void>;
  };
}

type SocketIoModule = typeof import("./socketio.ts");

/** A part of the lesson: its module, or why it cannot be loaded. */
type Part<T> = { module: T } | { missing: string };

/** Loads `file` (next to this one) on its own: a stub, a typo or a missing file is its own problem. */
async function load<T>(file: string): Promise<Part<T>> {
  try {
    return { module: (await import(new URL(file, import.meta.url).href)) as T };
  } catch (error) {
    return { missing: `${file} cannot be loaded: ${(error as Error).message}` };
  }
}

const echoPart = await load<EchoModule>("./echo.ts");
const chatPart = await load<ChatModule>("./chat.ts");
const socketIoPart = await load<SocketIoModule>("./socketio.ts");

/**
 * lessons/lesson-06-websockets/page/, found from this file upwards: this file runs from
 * exercises/ or solutions/, and from the copies of them that the course's checks make elsewhere.
 */
function findPageDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const page = path.join(dir, "lessons", "lesson-06-websockets", "page");
    if (existsSync(path.join(page, "index.html"))) return page;
    const parent = path.dirname(dir);
    if (parent === dir) return page; // not found: each file is a 404
    dir = parent;
  }
}
const PAGE_DIR = findPageDir();
/** The files of page/ that may be served: a plain name, no path. */
const PAGE_FILE = /^\/([a-z0-9-]+\.(html|js|css))$/;
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** The one server of the lesson, unstarted (lesson.json: module server.ts, export createServer). */
export function createServer(): net.Server {
  const web = http.createServer();
  const front = net.createServer((socket) => {
    guardConnection(socket);
    web.emit("connection", socket);
  });

  // Socket.IO takes the http.Server's "request" listeners over: /socket.io/ is its own, anything
  // else it hands on to the listeners already there. So ours is registered first.
  let socketIoProblem: string | undefined =
    "missing" in socketIoPart ? socketIoPart.missing : undefined;
  web.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    void onRequest(request, response, socketIoProblem);
  });
  if ("module" in socketIoPart) {
    try {
      socketIoPart.module.attachSocketIo(web, {
        origins: (origin, request) => origin === ownOrigin(request),
      });
    } catch (error) {
      socketIoProblem = (error as Error).message;
    }
  }

  // The chat on ws, made on first use, and closed with the server (a restart makes a new one).
  let chat: ReturnType<ChatModule["createChat"]> | undefined;
  const chatOrProblem = (): typeof chat | string => {
    if ("missing" in chatPart) return chatPart.missing;
    try {
      // The token (the access_token query parameter) is the user's name: a demo on 127.0.0.1.
      // The Origin is checked here, before the chat sees the request: see originAllowed().
      chat ??= chatPart.module.createChat({
        tokens: (token) => (/^[\w-]{1,32}$/.test(token) ? token : undefined),
      });
      return chat;
    } catch (error) {
      return (error as Error).message;
    }
  };
  front.on("close", () => {
    void chat?.close();
    chat = undefined;
  });

  web.on("upgrade", (request: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => {
    const pathname = (request.url ?? "/").split("?")[0];
    // The echo checks Origin itself (Step 1), against this server's own origin; the chat's
    // allow-list is fixed when it is made, so its check is made here.
    if (pathname === "/chat" && !originAllowed(request)) {
      refuse(socket, 403, `Origin ${request.headers.origin} may not open a WebSocket here`);
    } else if (pathname === "/echo") {
      if ("missing" in echoPart) return refuse(socket, 501, echoPart.missing);
      try {
        const origin = ownOrigin(request);
        echoPart.module.serveUpgrade(socket as net.Socket, toHttpRequest(request), head, {
          origins: origin === undefined ? [] : [origin],
        });
      } catch (error) {
        refuse(socket, 501, (error as Error).message);
      }
    } else if (pathname === "/chat") {
      const ready = chatOrProblem();
      if (typeof ready !== "object") return refuse(socket, 501, ready ?? "chat.ts is not loaded");
      try {
        ready.handleUpgrade(request, socket, head);
      } catch (error) {
        refuse(socket, 501, (error as Error).message);
      }
    } else if (pathname?.startsWith("/socket.io/")) {
      // Socket.IO's own "upgrade" listener answers these; only a missing Socket.IO is ours.
      if (socketIoProblem !== undefined) refuse(socket, 501, socketIoProblem);
    } else {
      refuse(socket, 404, `No WebSocket at ${pathname}: try /echo, /chat or /socket.io/`);
    }
  });
  return front;
}

/** The names under which a browser on this machine reaches the server. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * This server's origin as the browser sees it: `http://` and the Host field, when the host is a
 * loopback name. The Host tells the port a browser used (through a --trace proxy, that is the
 * proxy's); the loopback rule refuses a page whose own name was made to resolve to this machine
 * (DNS rebinding): its requests carry that name as Host and as Origin, which would match.
 */
function ownOrigin(request: http.IncomingMessage): string | undefined {
  const host = request.headers.host;
  if (host === undefined) return undefined;
  try {
    return LOOPBACK.has(new URL(`http://${host}`).hostname) ? `http://${host}` : undefined;
  } catch {
    return undefined; // a Host that is no host
  }
}

/** A request without Origin is not from a browser page; one with it must be from our own pages. */
function originAllowed(request: http.IncomingMessage): boolean {
  const origin = request.headers.origin;
  return origin === undefined || origin === ownOrigin(request);
}

async function onRequest(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  socketIoProblem: string | undefined,
): Promise<void> {
  const pathname = (request.url ?? "/").split("?")[0] as string;
  if (pathname.startsWith("/socket.io/")) {
    // Here only when Socket.IO is not attached: it answers its own requests.
    return answer(response, 501, socketIoProblem ?? "Socket.IO is not attached");
  }
  if (pathname === "/echo" || pathname === "/chat") {
    // RFC 9110 §15.5.22: 426 Upgrade Required, with the protocol to upgrade to.
    response.setHeader("Upgrade", "websocket");
    return answer(response, 426, `${pathname} is a WebSocket: connect with a WebSocket client`);
  }
  const file = pathname === "/" ? ["index.html", "html"] : PAGE_FILE.exec(pathname)?.slice(1);
  if (request.method !== "GET" && request.method !== "HEAD")
    return answer(response, 405, "GET only");
  if (!file) return answer(response, 404, `Not found: ${pathname}`);
  try {
    const body = await readFile(path.join(PAGE_DIR, file[0] as string));
    response.writeHead(200, {
      "Content-Type": TYPES[file[1] as string] as string,
      "Content-Length": body.length,
      "Cache-Control": "no-cache",
    });
    response.end(request.method === "HEAD" ? undefined : body);
  } catch {
    answer(response, 404, `Not found: ${pathname}`);
  }
}

function answer(response: http.ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** An upgrade refused before any 101: a whole HTTP response, then the connection closes. */
function refuse(socket: stream.Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

/**
 * The request as lesson 03's parser gives it. From rawHeaders, not `headers`: Node drops a repeat
 * of some fields and joins others with "; ", where the parser joins every repeat with ", ".
 */
export function toHttpRequest(request: http.IncomingMessage): HttpRequest {
  const headers = Object.create(null) as Record<string, string>;
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return {
    method: request.method ?? "GET",
    target: request.url ?? "/",
    version: request.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1",
    headers,
    body: Buffer.alloc(0),
  };
}

/**
 * Every event handler of this connection, ours and the parts', runs inside socket.emit(): an error
 * one of them throws (an unwritten stub reached on the first frame, a bug) ends this connection
 * and is logged, instead of ending the whole process with an uncaught exception.
 */
function guardConnection(socket: net.Socket): void {
  const emit = socket.emit;
  socket.emit = function guardedEmit(this: net.Socket, event: string | symbol, ...args: unknown[]) {
    try {
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    } catch (error) {
      console.error(`A connection ended by an error in its handler: ${(error as Error).message}`);
      this.destroy();
      return false;
    }
  } as typeof socket.emit;
  socket.on("error", () => {}); // a reset by the peer ends that connection, nothing more
}
