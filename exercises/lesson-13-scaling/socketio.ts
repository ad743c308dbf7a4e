/**
 * Step 5: lesson 06's Socket.IO chat across instances, with the Redis Streams adapter.
 *
 *   client ─► instance a ─ io.to(room).emit ─► XADD socket.io * ─┐  one Redis Stream
 *   client ◄─ instance b ◄─ XREAD BLOCK (every instance reads) ◄──┘  (entry id = offset)
 *
 * The events, as in lesson 06, each answered by an acknowledgement:
 *
 *   join  (room, ack)                  ack({ ok: true, instance })
 *   leave (room, ack)                  ack({ ok: true, instance })
 *   chat  ({ room, id, text }, ack)    ack({ ok: true, seq, instance }), "chat" to the room's others
 *
 * A bad event is answered { ok: false, error: { code, field?, message } }. The room's seq and the
 * ids it has seen are in Redis, so that two instances never hand out one seq twice.
 */
import type http from "node:http";
import type { Server as SocketIoServer } from "socket.io";
import type { ChatMessage } from "#reference/lesson-06-websockets/socketio.ts";
import { todo } from "#shared/todo.ts";

export type { ChatMessage };

export interface ClusterSocketIoOptions {
  instance: string;
  redisUrl: string;
  /** How long a dropped client may take to come back, to any instance, and recover (ms). */
  recoveryMs?: number;
}

export interface ClusterSocketIo {
  readonly io: SocketIoServer;
  /** Closes Socket.IO's clients and its Redis connections (not the http.Server). */
  close(): Promise<void>;
}

/** What an acknowledgement says when the event was refused. */
export interface ClusterChatError {
  /** SIO_UNAVAILABLE: Redis cannot be reached; nothing was stored or sent: send it again later. */
  code: "SIO_BAD_MESSAGE" | "SIO_NOT_IN_ROOM" | "SIO_UNAVAILABLE";
  field?: string;
  message: string;
}

export const DEFAULT_RECOVERY_MS = 2 * 60 * 1000;

export function attachClusterSocketIo(
  server: http.Server,
  options: ClusterSocketIoOptions,
): ClusterSocketIo {
  // TODO: A Socket.IO Server on `server` with adapter: createAdapter(new Redis(redisUrl)) from
  // @socket.io/redis-streams-adapter and connectionStateRecovery on; lesson 06's join, leave and
  // chat events, the room's seq taken in Redis; the session written to the adapter
  // (persistSession) on connection and on every join and leave, because a killed instance never
  // writes it on disconnect (socket.io docs, "Connection state recovery"; Redis docs, "Streams").
  return todo("lesson-13-scaling", "attachClusterSocketIo()", "Step 5");
}
