/**
 * Test helpers for Step 5: a Socket.IO chat on port 0, and socket.io-client sockets that are
 * closed when the test ends. Every wait is bounded, and names the event it waited for.
 */
import http from "node:http";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { onTestFinished } from "vitest";
import { attachSocketIo, type SocketIoChatOptions } from "#lesson/lesson-06-websockets/socketio.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";

export { record } from "../../shared/testing/recorder.ts";

export interface Started {
  server: http.Server;
  io: ReturnType<typeof attachSocketIo>;
  url: string;
  port: number;
}

/** The chat on a new http.Server on 127.0.0.1:0, closed (with its io) when the test ends. */
export async function startChat(options: SocketIoChatOptions = {}): Promise<Started> {
  const server = http.createServer();
  const io = attachSocketIo(server, options);
  onTestFinished(async () => {
    io.disconnectSockets(true);
    await new Promise<void>((resolve) => {
      io.close(() => resolve());
    });
  });
  const { host, port } = await listen(server);
  return { server, io, url: `http://${host}:${port}`, port };
}

/**
 * A socket.io-client socket named `name`, connected (or failing with the connect_error Socket.IO
 * gave), closed when the test ends. No automatic reconnection unless asked for.
 */
export async function client(
  url: string,
  name: string,
  options: Parameters<typeof connectClient>[1] = {},
): Promise<ClientSocket> {
  const socket = connectClient(url, {
    auth: { name },
    reconnection: false,
    forceNew: true,
    ...options,
  });
  onTestFinished(() => {
    socket.disconnect();
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (error) =>
        reject(new Error(`socket.io-client could not connect: ${error.message}`)),
      );
    }),
    `${name} to connect to the Socket.IO server at ${url}`,
  );
  return socket;
}

/** The arguments of the next `event` on `socket`, all of them (the offset too). */
export function next(socket: ClientSocket, event: string, why: string): Promise<unknown[]> {
  return within(
    new Promise<unknown[]>((resolve) => {
      socket.once(event, (...args: unknown[]) => resolve(args));
    }),
    `a "${event}" event: ${why}`,
  );
}
