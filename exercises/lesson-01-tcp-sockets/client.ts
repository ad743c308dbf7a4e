import type net from "node:net";
import { todo } from "#shared/todo.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./lines.ts";

export interface ClientOptions {
  host?: string;
  port: number;
  /** The longest reply line accepted, in bytes. */
  maxLineBytes?: number;
}

/** A request waiting for its reply. */
interface Waiting {
  resolve(reply: string): void;
  reject(error: Error): void;
}

/**
 * Where the client is:
 *
 *   open    requests go out, replies come back
 *   closed  close() was called: new requests are refused (CLIENT_CLOSED), but every request sent
 *           before still gets its reply
 *   lost    the connection ended without close(): the server closed it, a reset, or a reply that
 *           broke the protocol. New requests are refused with the reason
 */
type ClientState = "open" | "closed" | "lost";

/**
 * A client for the line protocol. Requests may be pipelined: several can be in flight at once,
 * written one after another without waiting. TCP keeps bytes in order and the server answers every
 * line with one line, in order, so the first reply belongs to the oldest waiting request.
 *
 * You write the whole class, and createClient() below it.
 */
export class LineClient {
  constructor(socket: net.Socket, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    // TODO: Replies come through a LineSplitter (./lines.ts) capped at maxLineBytes: a reply is a
    //       line too, and a server that never sends an LF must not make the client hold
    //       everything it sends. Each whole line answers the oldest waiting request (a queue,
    //       oldest first), decoded as UTF-8 only once whole.
    // TODO: A reply too long, or a reply while no request waits (LineProtocolError
    //       UNEXPECTED_REPLY): the stream can no longer be trusted. Drop the connection, and that
    //       error is the reason it was lost.
    // TODO: Listen for "error": without a listener a reset (ECONNRESET) crashes the process.
    // TODO: When the connection closes, reject every request still waiting: with the
    //       LineProtocolError that ended it, or else with CONNECTION_CLOSED whose `cause` is the
    //       socket's error, if there was one.
    todo("lesson-01-tcp-sockets", "the LineClient constructor", "Step 6");
  }

  /** Sends one request line and resolves with its reply line, decoded as UTF-8. */
  request(line: string): Promise<string> {
    // TODO: A line break inside the request would put two requests on the wire and one waiting
    //       entry in the queue: every later reply would go to the wrong request. Reject with
    //       LineProtocolError NEWLINE_IN_REQUEST (./errors.ts), and send nothing.
    // TODO: After close(): reject with CLIENT_CLOSED. After the connection was lost: reject with
    //       the reason (CONNECTION_CLOSED, or the LineProtocolError that ended it).
    // TODO: Otherwise send the line (encodeLine() in ./protocol.ts) without waiting for earlier
    //       replies, and resolve with its reply.
    return todo("lesson-01-tcp-sockets", "LineClient.request()", "Step 6");
  }

  /**
   * Half-closes: sends our FIN ("no more requests"), keeps reading until the server has answered
   * every request already sent and closed its side too, then resolves.
   */
  close(): Promise<void> {
    // TODO: From now on requests are refused with CLIENT_CLOSED.
    // TODO: Send our FIN with end(), not destroy(): the replies still owed must arrive. Resolve on
    //       the socket's "close" (at once if it has closed already).
    return todo("lesson-01-tcp-sockets", "LineClient.close()", "Step 6");
  }
}

/** Connects (one round trip: the TCP handshake) and resolves with a client once connected. */
export function createClient({
  host = "127.0.0.1",
  port,
  maxLineBytes,
}: ClientOptions): Promise<LineClient> {
  // TODO: Connect with noDelay (each request is one small write: send it now, not after Nagle's
  //       wait). Resolve once the handshake is done ("connect"), and reject with the socket's
  //       error (ECONNREFUSED when nothing listens) if that comes first.
  return todo("lesson-01-tcp-sockets", "createClient()", "Step 6");
}
