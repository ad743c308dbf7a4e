/**
 * What a row of lesson 12's tables is: a transport of the course, run through its lesson's
 * reference, with a client nobody here wrote wherever there is one. request.ts lists the request
 * rows ("get user 123"), push.ts the push rows ("1,000 updates to 50 subscribers"); bench.ts runs
 * them all through the harness of exercises/lesson-12-choosing/ and prints them side by side.
 *
 * A row's server runs in the bench's own process for the latency and byte figures (one clock for
 * sender and receiver), and alone in a child process for the memory figure (memory.ts), which is
 * why a row starts its server by itself, from nothing but its name.
 */
import type net from "node:net";
import type { Session } from "#lesson/lesson-12-choosing/harness.ts";

/** A row's server, listening on 127.0.0.1. */
export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A request row: one client asks for user 123 and waits for the answer, again and again. */
export interface RequestTransport {
  /** As printed: "HTTP/1.1, keep-alive". */
  readonly name: string;
  /** Whose reference it runs: "lesson-04". */
  readonly lesson: string;
  /** Starts the row's server. */
  start(): Promise<RunningServer>;
  /** A client of the server at 127.0.0.1:`port` (the network's port, in front of it). */
  connect(port: number): Promise<Session>;
}

/** A push row's server, which can publish update number `index` to every subscriber. */
export interface PushServer extends RunningServer {
  /** Publishes update `index` (0, 1, ...); resolves once the server has accepted it. */
  publish(index: number): Promise<void>;
}

/** A push row: subscribers wait for updates the server publishes. */
export interface PushTransport {
  readonly name: string;
  readonly lesson: string;
  start(): Promise<PushServer>;
  /** One subscriber of the server at 127.0.0.1:`port`; `received(index)` on each update. */
  subscribe(port: number, received: (index: number) => void): Promise<{ close(): Promise<void> }>;
}

/**
 * Starts a row's server on 127.0.0.1 and a free port. close() ends the connections still open
 * (an idle keep-alive connection, a held long poll or an event stream would otherwise keep the
 * server from closing), then waits for the server to close.
 */
export async function serve(server: net.Server): Promise<RunningServer> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}
