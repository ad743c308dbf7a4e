import net from "node:net";
import { todo } from "#shared/todo.ts";
import { Connection } from "./connection.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./lines.ts";

export interface ServerOptions {
  /** The longest request line accepted, in bytes (Step 4). */
  maxLineBytes?: number;
}

/**
 * A TCP server for the line protocol: a net.Server that knows its connections, so it can count
 * them and shut down gracefully.
 *
 * Given: the fields and the constructor (read its options: they matter in Step 3).
 * You write openConnections, accept(), shutdown() and createServer() below the class.
 */
export class LineServer extends net.Server {
  readonly maxLineBytes: number;
  // Connections accepted and not yet closed. (Not called `connections`: net.Server already has a
  // deprecated property of that name.)
  private readonly accepted = new Set<Connection>();

  constructor({ maxLineBytes = DEFAULT_MAX_LINE_BYTES }: ServerOptions = {}) {
    super({
      // By default Node ends our side as soon as it reads the client's FIN. Here the server
      // decides: Connection.onEnd ends it once every request is answered. (This server answers
      // each line the moment it is read, so the default would lose nothing yet; a reply that
      // takes time, like a database lookup, would be cut off by it.)
      allowHalfOpen: true,
      // Each reply is one small write; send it now instead of waiting to fill a segment (Nagle).
      noDelay: true,
    });
    this.maxLineBytes = maxLineBytes;
    this.on("connection", (socket: net.Socket) => this.accept(socket));
  }

  /** Connections accepted and not yet closed. */
  get openConnections(): number {
    // TODO: How many connections are in the set.
    return todo("lesson-01-tcp-sockets", "LineServer.openConnections", "Step 3");
  }

  /**
   * Graceful shutdown (Step 5). Stops accepting at once, lets each open connection finish, and
   * resolves when the last one has closed.
   *
   * net.Server's close() does the first and the last part: it closes the listening socket (a new
   * SYN now gets a reset: "connection refused") and calls back when no connection is left. But it
   * never tells an open connection to finish, so one idle client would keep the server up forever.
   * Since every reply here answers a request, an idle connection gets no goodbye line (a client
   * would take it for the reply to its next request): it gets our FIN.
   */
  shutdown(): Promise<void> {
    // TODO: Call this.close() and turn its callback into a promise (an error means "not running").
    // TODO: Tell every open connection to finish().
    // TODO: net calls back once every socket is destroyed; each socket's "close" event, where
    //       openConnections goes down, comes a moment later. Resolve when both have happened:
    //       await Promise.all([closed, ...the open connections' once(connection.socket, "close")]).
    //       (once comes from node:events.)
    return todo("lesson-01-tcp-sockets", "LineServer.shutdown()", "Step 5");
  }

  private accept(socket: net.Socket): void {
    // TODO: Make a Connection for the socket (it needs this.maxLineBytes) and add it to the set.
    // TODO: When the socket emits "close", delete it from the set.
    return todo("lesson-01-tcp-sockets", "LineServer.accept()", "Step 3");
  }
}

/** The server of this lesson, unstarted: whoever creates it calls listen(). */
export function createServer(options: ServerOptions = {}): LineServer {
  // TODO: Make a LineServer with these options. Do not listen: the caller does.
  return todo("lesson-01-tcp-sockets", "createServer()", "Step 3");
}
