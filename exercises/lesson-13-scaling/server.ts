/**
 * One instance of the cluster: the lesson's parts on one http.Server, each sharing what it must
 * through Redis rather than through this process's memory.
 *
 *   GET  /healthz       200 while this instance can serve (HAProxy's health check)
 *   GET  /chat          lesson 06's chat protocol over a WebSocket, across instances (chat.ts)
 *   GET  /events        lesson 07's event stream, its history in a Redis Stream (events.ts)
 *   POST /messages      a message into that stream
 *   /socket.io/         Socket.IO with the Redis Streams adapter (socketio.ts)
 *
 * Every response says which instance gave it (`X-Instance: a`), so that you can watch HAProxy
 * spread requests, and the tests can tell where a client landed. Given code: the parts are yours.
 */
import http from "node:http";
import type stream from "node:stream";
import { createClusterChat } from "./chat.ts";
import { createEventStream } from "./events.ts";
import { attachClusterSocketIo } from "./socketio.ts";

export interface InstanceOptions {
  /** This instance's name, "a", "b", ...: in every X-Instance header, and in Redis where it owns keys. */
  name: string;
  /** Where Redis is, as ioredis takes it: `redis://127.0.0.1:6379`. */
  redisUrl: string;
}

/** The instance's server, unstarted, with close() ending its parts and their Redis connections. */
export interface InstanceServer extends http.Server {
  /** Ends every client, then each part's Redis connections, then the server. */
  shutdown(): Promise<void>;
}

/**
 * A part not written yet is no reason to stop the others: it answers with its error (which names
 * the function and the README step), and the instance serves the rest.
 */
function part<T>(make: () => T): T | Error {
  try {
    return make();
  } catch (error) {
    return error as Error;
  }
}

function refuse(response: http.ServerResponse, error: Error): void {
  response.writeHead(501, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(`${error.message}\n`);
}

export function createInstance(options: InstanceOptions): InstanceServer {
  const settings = { instance: options.name, redisUrl: options.redisUrl };
  const chat = part(() => createClusterChat(settings));
  const events = part(() => createEventStream(settings));

  const server = http.createServer() as InstanceServer;
  // Socket.IO takes the server's "request" listeners over: /socket.io/ is its own, anything else it
  // hands on to the listeners already there. So ours is registered first.
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    if (pathname.startsWith("/socket.io/")) return;
    if (pathname === "/healthz") {
      response.writeHead(200, { "Content-Type": "text/plain" });
      response.end(`ok ${options.name}\n`);
      return;
    }
    if (events instanceof Error) refuse(response, events);
    else events.handle(request, response);
  });
  const socketIo = part(() => attachClusterSocketIo(server, settings));
  // Socket.IO moves itself in front of the "request" listeners and answers /socket.io/ without
  // calling them: the header goes on in a listener put before Socket.IO's.
  server.prependListener(
    "request",
    (_request: http.IncomingMessage, response: http.ServerResponse) => {
      response.setHeader("X-Instance", options.name);
    },
  );
  if (socketIo instanceof Error) {
    // Registered after the listener above, so it sees /socket.io/ requests that one left alone.
    server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
      if (new URL(request.url ?? "/", "http://localhost").pathname.startsWith("/socket.io/")) {
        refuse(response, socketIo);
      }
    });
  }
  server.on("upgrade", (request: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    if (pathname === "/chat" && !(chat instanceof Error)) chat.handleUpgrade(request, socket, head);
    // Socket.IO's own upgrade listener answers /socket.io/; anything else is refused.
    else if (
      pathname === "/chat" ||
      !pathname.startsWith("/socket.io/") ||
      socketIo instanceof Error
    ) {
      const why = pathname === "/chat" && chat instanceof Error ? chat.message : "Not Found";
      const body = Buffer.from(`${why}\n`);
      const status = why === "Not Found" ? "404 Not Found" : "501 Not Implemented";
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
  });
  server.shutdown = async () => {
    const parts = [chat, events, socketIo].filter((p) => !(p instanceof Error));
    await Promise.all(parts.map((p) => (p as { close(): Promise<void> }).close()));
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return server;
}

/**
 * For `npm run serve -- lesson-13`: one instance named after INSTANCE (default "a"), on the Redis
 * at REDIS_URL (default redis://127.0.0.1:6379).
 */
export function createServer(): InstanceServer {
  return createInstance({
    name: process.env.INSTANCE ?? "a",
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  });
}
