/**
 * Step 5: lesson 06's Socket.IO chat across instances, with the Redis Streams adapter.
 *
 *   client ─► instance a ─ io.to(room).emit ─► XADD socket.io * ─┐  one Redis Stream
 *   client ◄─ instance b ◄─ XREAD BLOCK (every instance reads) ◄──┘  (entry id = offset)
 *
 * An adapter is what `io.to(room).emit()` goes through. The default one knows this process's
 * sockets only; the Redis Streams adapter also appends every broadcast to a Redis Stream, which
 * every instance reads, and delivers each entry to its own sockets in that room. The entry's id
 * is the packet's offset, the extra last argument a client keeps for connection state recovery:
 * a client back after a drop, on any instance, sends its session id (pid) and last offset; that
 * instance reads the session from Redis and the stream after the offset (XRANGE), and replays the
 * packets sent to the client's rooms. (The plain Redis adapter sends broadcasts over pub/sub,
 * which keeps nothing: another instance has nothing to replay from, so it cannot recover a
 * session that was on another instance.)
 *
 * The events, as in lesson 06, each answered by an acknowledgement:
 *
 *   join  (room, ack)                  ack({ ok: true, instance })
 *   leave (room, ack)                  ack({ ok: true, instance })
 *   chat  ({ room, id, text }, ack)    ack({ ok: true, seq, instance }), "chat" to the room's others
 *
 * The room's seq and the ids it has seen are in Redis (one Lua script, so that two instances
 * never hand out one seq twice). Presence and history are Steps 2 and 4; this step leaves them out.
 */
import type http from "node:http";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server as SocketIoServer, type Socket } from "socket.io";
import { z } from "zod";
import type { ChatMessage } from "#reference/lesson-06-websockets/socketio.ts";

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
/** How long a room's message ids are kept for spotting a resend (seconds). */
const IDS_TTL_S = 24 * 60 * 60;

const RoomName = z.string().min(1).max(64);
const ChatInput = z.object({
  room: RoomName,
  id: z.string().min(1).max(64),
  text: z.string().min(1).max(2_000),
});
const Name = z.string().min(1).max(32);

/**
 * KEYS[1] the room's counter, KEYS[2] its id -> seq hash; ARGV[1] the message id. Returns
 * { seq, 1 } for an id the room has already, { seq, 0 } for a new one. A script runs whole, with
 * no other command between its steps (Redis docs, "Scripting with Lua": atomicity).
 */
const NEXT_SEQ = `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen then return { tonumber(seen), 1 } end
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], seq)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return { seq, 0 }`;

export function attachClusterSocketIo(
  server: http.Server,
  options: ClusterSocketIoOptions,
): ClusterSocketIo {
  // One connection for the adapter (it duplicates it for its blocking XREAD and its pub/sub), one
  // for the chat's own commands. The adapter's queues commands while Redis is away and sends them
  // on reconnect; the chat's fails at once, so that a sender hears now that its message was not
  // taken, rather than waiting on an ack for as long as Redis is down.
  const adapterRedis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const chatRedis = new Redis(options.redisUrl, { enableOfflineQueue: false });
  // Errors are ioredis's to recover from by reconnecting; an unhandled "error" would end the process.
  adapterRedis.on("error", () => {});
  chatRedis.on("error", () => {});

  const recoveryMs = options.recoveryMs ?? DEFAULT_RECOVERY_MS;
  const io = new SocketIoServer(server, {
    adapter: createAdapter(adapterRedis),
    connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true },
  });

  io.use((socket, next) => {
    const name = Name.safeParse((socket.handshake.auth as { name?: unknown }).name);
    if (!name.success) return next(new Error("auth.name must be a name of 1 to 32 characters"));
    socket.data.name = name.data;
    next();
  });

  io.on("connection", (socket) => {
    // Socket.IO writes a session to the adapter when its connection closes. An instance that is
    // killed closes nothing: so the session is written now, and again whenever its rooms change.
    saveSession(socket);
    const answer = (fields: object) => ({ ok: true, ...fields, instance: options.instance });

    socket.on("join", async (room: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const name = RoomName.safeParse(room);
      if (!name.success) return ack?.(refused("SIO_BAD_MESSAGE", "room", name.error));
      await socket.join(name.data);
      saveSession(socket);
      ack?.(answer({}));
    });

    socket.on("leave", async (room: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const name = RoomName.safeParse(room);
      if (!name.success) return ack?.(refused("SIO_BAD_MESSAGE", "room", name.error));
      await socket.leave(name.data);
      saveSession(socket);
      ack?.(answer({}));
    });

    socket.on("chat", async (input: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const parsed = ChatInput.safeParse(input);
      if (!parsed.success) {
        const field = String(parsed.error.issues[0]?.path[0] ?? "message");
        return ack?.(refused("SIO_BAD_MESSAGE", field, parsed.error));
      }
      const { room, id, text } = parsed.data;
      if (!socket.rooms.has(room)) {
        return ack?.({
          ok: false,
          error: { code: "SIO_NOT_IN_ROOM", field: "room", message: `join ${room} first` },
        });
      }
      let seq: number;
      let duplicate: boolean;
      try {
        const reply = (await chatRedis.eval(
          NEXT_SEQ,
          2,
          `chat:${room}:seq`,
          `chat:${room}:ids`,
          id,
          IDS_TTL_S,
        )) as [number, number];
        [seq, duplicate] = [reply[0], reply[1] === 1];
      } catch (error) {
        const message = `Redis is unreachable (${(error as Error).message}): nothing was sent; send it again`;
        return ack?.({ ok: false, error: { code: "SIO_UNAVAILABLE", message } });
      }
      // A resend after a lost acknowledgement: the room has it, so acknowledge, do not repeat.
      if (duplicate) return ack?.(answer({ seq, duplicate: true }));
      const message: ChatMessage = { room, id, seq, from: String(socket.data.name), text };
      // To the room, through the adapter: into the stream, so that every instance delivers it,
      // and a member who is away finds it there when it recovers.
      socket.to(room).emit("chat", message);
      ack?.(answer({ seq }));
    });
  });

  return {
    io,
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      adapterRedis.disconnect();
      chatRedis.disconnect();
    },
  };
}

/** The session as Socket.IO itself persists it on a recoverable disconnect. */
function saveSession(socket: Socket): void {
  // `pid` is the private session id Socket.IO gives a socket when recovery is on (not typed).
  const { pid } = socket as unknown as { pid: string };
  socket.nsp.adapter.persistSession({
    sid: socket.id,
    pid,
    rooms: [...socket.rooms],
    data: socket.data,
  });
}

/** Socket.IO passes the acknowledgement callback as the event's last argument, if the client asked. */
function lastFunction(args: unknown[]): ((answer: unknown) => void) | undefined {
  const last = args[args.length - 1];
  return typeof last === "function" ? (last as (answer: unknown) => void) : undefined;
}

function refused(code: ClusterChatError["code"], field: string, error: z.ZodError) {
  return { ok: false, error: { code, field, message: error.issues[0]?.message ?? "invalid" } };
}
