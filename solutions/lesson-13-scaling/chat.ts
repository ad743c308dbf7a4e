/**
 * Step 3: lesson 06's chat across instances. The protocol is lesson 06's, message for message
 * (chat-protocol.ts); what changes is where the state lives:
 *
 *   lesson 06 (one process)            here (any number of instances)
 *   room members: a Set in memory      this instance's members in memory, everyone's in Redis
 *                                      (presence.ts), each instance telling its own clients
 *   a message to the room: a loop      a Lua script in Redis numbers it, keeps it in the room's
 *                                      history and PUBLISHes it; every instance that has members
 *                                      there hears it (bus.ts) and sends it on to them
 *   "seen (client, seq)?": a Map       SET chat:said:<client>:<seq> NX PX: the first instance
 *                                      to ask wins, wherever the client resends from
 *
 * One say, from ada on instance a to bob on instance b:
 *
 *   ada ─say─► a ──EVALSHA say──► redis: SET NX? INCR id, RPUSH history, PUBLISH chat:room:lobby
 *   ada ◄─ack─ a ◄──── id ───────┘            │
 *                          b ◄── message ─────┘ ──► bob
 *
 * While Redis is unreachable nothing can be numbered, kept or delivered: a say is not
 * acknowledged, and its connection is closed with 1013 Try Again Later (RFC 6455 §7.4.1, the
 * IANA registry). Lesson 06's client resends what has no ack when it reconnects, so the message
 * goes out once Redis is back, once.
 */
import { once } from "node:events";
import http from "node:http";
import type stream from "node:stream";
import type { Redis } from "ioredis";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import {
  ChatError,
  parseClientMessage,
  type ChatMessage,
  type ClientMessage,
  type ServerMessage,
} from "#reference/lesson-06-websockets/chat-protocol.ts";
import { connectRedis, createBus, type Bus } from "./bus.ts";
import { createPresence, type Presence } from "./presence.ts";

export interface ClusterChatOptions {
  /** This instance's name. */
  instance: string;
  redisUrl: string;
  /**
   * The user an `access_token` names, or undefined (401). By default `<name>-token` names
   * `<name>` (letters only): a demo's rule, as in lesson 06's tests.
   */
  tokens?: (token: string) => string | undefined;
  /** How long a dead instance's users stay listed (presence.ts). */
  presenceTtlMs?: number;
  /** How many messages each room keeps in Redis for clients that come back with `after`. */
  historyLimit?: number;
  /** How long a (client, seq) is remembered to drop a resend of it. */
  duplicateWindowMs?: number;
}

export interface ClusterChat {
  /** For the server's "upgrade" event on /chat. */
  handleUpgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void;
  /** Closes every client with 1001 and this instance's Redis connections. */
  close(): Promise<void>;
}

export const DEFAULT_HISTORY_LIMIT = 1_000;
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;
/** RFC 6455 §7.4.1 and the IANA WebSocket Close Code registry: "Try Again Later". */
export const CLOSE_TRY_AGAIN_LATER = 1013;

function demoTokens(token: string): string | undefined {
  return /^([a-z]+)-token$/.exec(token)?.[1];
}

/**
 * Numbers a say, keeps it and publishes it, as one step: Redis runs a script while nothing else
 * runs ("Redis guarantees the script's atomic execution", Redis docs, "Scripting with Lua"), so
 * ids are published in the order they were given. (INCR, then PUBLISH from the instance, would let
 * b's id 6 overtake a's id 5, and a client would drop 5 as already seen.)
 *
 * A room's counter that is missing (a new room, or a Redis restarted empty) starts at Redis's
 * clock in microseconds: ids stay larger than any given before, so clients that remember an old
 * id do not drop new messages as seen. Returns the id, or 0 for a (client, seq) already said.
 */
const SAY_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', now[1] * 1000000 + now[2]))
end
local id = redis.call('INCR', KEYS[2])
local envelope = string.format('{"id":%d,"message":%s}', id, ARGV[1])
redis.call('RPUSH', KEYS[3], envelope)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
redis.call('PUBLISH', ARGV[4], envelope)
return id
`;

/** What travels on a room's channel: a message with its id, or "presence changed, look again". */
type Envelope = { id: number; message: Omit<ChatMessage, "type" | "id"> } | { presence: true };

const channelOf = (room: string) => `chat:room:${room}`;
const historyOf = (room: string) => `chat:history:${room}`;
const counterOf = (room: string) => `chat:lastid:${room}`;
const saidOf = (client: string, seq: number) => `chat:said:${client}:${seq}`;

/**
 * One connection's place in a room. While "replaying" (a join reading the room's history), what
 * the bus brings waits in `queue`, so that the client gets ids in order; `last` is the highest id
 * sent to it, so that nothing goes to it twice.
 */
interface Membership {
  phase: "replaying" | "live";
  queue: ChatMessage[];
  last: number;
}

interface Connection {
  readonly socket: WebSocket;
  readonly user: string;
  readonly rooms: Map<string, Room>;
  /** Messages are handled one after another, in the order they came: each waits for Redis. */
  work: Promise<void>;
}

interface Room {
  readonly name: string;
  /** This instance's connections in the room. */
  readonly members: Map<Connection, Membership>;
  /** The SUBSCRIBE to its channel. */
  readonly subscribed: Promise<void>;
  /** The last presence list sent here, to tell only changes after a heartbeat. */
  presence: string;
  /** While the chat catches up after the bus was cut off: what the bus brings, held back. */
  held: ChatMessage[] | undefined;
}

interface State {
  readonly options: Required<Omit<ClusterChatOptions, "presenceTtlMs">>;
  readonly wss: WebSocketServer;
  readonly redis: Redis;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly connections: Set<Connection>;
  readonly rooms: Map<string, Room>;
  phase: "open" | "closed";
  /** Catch-ups begun: only the latest lets held messages go. */
  catchUps: number;
}

/** Redis could not be reached: the client is told to try again later. */
class UnavailableError extends Error {
  constructor(cause: unknown) {
    super("Redis is unavailable", { cause });
    this.name = "UnavailableError";
  }
}

async function fromRedis<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new UnavailableError(error);
  }
}

export function createClusterChat(options: ClusterChatOptions): ClusterChat {
  const settings = {
    tokens: options.tokens ?? demoTokens,
    historyLimit: options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
    duplicateWindowMs: options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
    instance: options.instance,
    redisUrl: options.redisUrl,
  };
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 65_536 });
  // Which instance answered, in the 101 response as in every other: the tests read it there.
  wss.on("headers", (headers) => headers.push(`X-Instance: ${options.instance}`));
  const redis = connectRedis(options.redisUrl);
  redis.defineCommand("chatSay", { numberOfKeys: 3, lua: SAY_SCRIPT });
  const state: State = {
    options: settings,
    wss,
    redis,
    bus: createBus({ redisUrl: options.redisUrl, onReconnect: () => void catchUp(state) }),
    presence: createPresence({
      redisUrl: options.redisUrl,
      instance: options.instance,
      ttlMs: options.presenceTtlMs,
      onHeartbeat: () => void heartbeat(state),
    }),
    connections: new Set(),
    rooms: new Map(),
    phase: "open",
    catchUps: 0,
  };
  return {
    handleUpgrade: (request, socket, head) => handleUpgrade(state, request, socket, head),
    close: () => close(state),
  };
}

function handleUpgrade(
  state: State,
  request: http.IncomingMessage,
  socket: stream.Duplex,
  head: Buffer,
): void {
  socket.on("error", () => socket.destroy());
  if (state.phase === "closed") return refuse(socket, 503, "This instance is shutting down.");
  // As lesson 06: a browser's WebSocket cannot set headers, so the token is the access_token
  // query parameter (RFC 6750 §2.3), checked before the upgrade.
  const token = new URL(request.url ?? "/", "http://chat.invalid").searchParams.get("access_token");
  const user = token === null ? undefined : state.options.tokens(token);
  if (user === undefined) return refuse(socket, 401, "A valid access_token is required.");
  state.wss.handleUpgrade(request, socket, head, (ws) => accept(state, ws, user));
}

function refuse(socket: stream.Duplex, status: number, body: string): void {
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function accept(state: State, socket: WebSocket, user: string): void {
  const connection: Connection = { socket, user, rooms: new Map(), work: Promise.resolve() };
  state.connections.add(connection);
  socket.on("message", (data, isBinary) => {
    connection.work = connection.work.then(() => onMessage(state, connection, data, isBinary));
  });
  socket.on("close", () => onClose(state, connection));
  socket.on("error", () => {});
}

async function onMessage(
  state: State,
  connection: Connection,
  data: RawData,
  isBinary: boolean,
): Promise<void> {
  if (connection.socket.readyState !== WebSocket.OPEN) return;
  try {
    if (isBinary) throw new ChatError("CHAT_BAD_JSON", "the chat speaks JSON in text messages");
    await handle(state, connection, parseClientMessage(data.toString()));
  } catch (error) {
    if (error instanceof ChatError) {
      send(connection, {
        type: "error",
        code: error.code,
        field: error.field,
        message: error.message,
      });
    } else if (error instanceof UnavailableError) {
      // Nothing was acknowledged: the client keeps it, and resends it on its next connection.
      connection.socket.close(CLOSE_TRY_AGAIN_LATER, "Redis unavailable, try again later");
    } else {
      console.error(error);
      connection.socket.close(1011, "internal error");
    }
  }
}

async function handle(state: State, connection: Connection, message: ClientMessage): Promise<void> {
  switch (message.type) {
    case "join":
      return join(state, connection, message.room, message.after);
    case "leave":
      return leave(state, connection, member(connection, message.room));
    case "say":
      return say(state, connection, member(connection, message.room), message);
  }
}

function member(connection: Connection, name: string): Room {
  const room = connection.rooms.get(name);
  if (room !== undefined) return room;
  throw new ChatError("CHAT_NOT_A_MEMBER", `room ${JSON.stringify(name)} is not joined`, {
    field: "room",
  });
}

/** This instance's record of a room, subscribed to its channel once, by whoever came first. */
async function openRoom(state: State, name: string): Promise<Room> {
  let room = state.rooms.get(name);
  if (room === undefined) {
    const members = new Map<Connection, Membership>();
    const created: Room = {
      name,
      members,
      presence: "",
      held: undefined,
      subscribed: state.bus.subscribe(channelOf(name), (text) => onEnvelope(state, created, text)),
    };
    room = created;
    state.rooms.set(name, room);
    // A failed SUBSCRIBE is forgotten, so that the next join tries again.
    room.subscribed.catch(() => {
      if (state.rooms.get(name) === created) state.rooms.delete(name);
    });
  }
  await fromRedis(room.subscribed);
  return room;
}

async function join(
  state: State,
  connection: Connection,
  name: string,
  after: number | undefined,
): Promise<void> {
  const room = await openRoom(state, name);
  const rejoined = room.members.has(connection);
  // Subscribed first, then the history read: a message published in between is both in the
  // history and in the queue, and `last` sends it once; the other order could miss it.
  const membership: Membership = { phase: "replaying", queue: [], last: after ?? 0 };
  room.members.set(connection, membership);
  connection.rooms.set(name, room);
  if (!rejoined) await fromRedis(state.presence.join(name, connection.user));
  announce(state, name);
  if (after !== undefined) {
    const kept = (await fromRedis(state.redis.lrange(historyOf(name), 0, -1))).map(toMessage);
    const oldest = kept[0]?.id;
    // A full history whose oldest is past `after + 1`: what came between was trimmed away.
    if (kept.length >= state.options.historyLimit && oldest !== undefined && oldest > after + 1) {
      send(connection, {
        type: "error",
        code: "CHAT_HISTORY_GONE",
        field: "after",
        message: `messages after ${after} and before ${oldest} of room ${JSON.stringify(name)} are gone`,
      });
    }
    for (const message of kept) deliver(connection, membership, message);
  }
  for (const message of membership.queue) deliver(connection, membership, message);
  membership.phase = "live";
  membership.queue = [];
}

async function leave(state: State, connection: Connection, room: Room): Promise<void> {
  room.members.delete(connection);
  connection.rooms.delete(room.name);
  await fromRedis(state.presence.leave(room.name, connection.user));
  // The one who left is told too, as in lesson 06: that is its confirmation.
  const members = await fromRedis(state.presence.list(room.name));
  send(connection, { type: "presence", room: room.name, members });
  announce(state, room.name);
}

async function say(
  state: State,
  connection: Connection,
  room: Room,
  said: { client: string; seq: number; text: string },
): Promise<void> {
  const message = {
    room: room.name,
    from: connection.user,
    client: said.client,
    seq: said.seq,
    text: said.text,
  };
  await fromRedis(
    (state.redis as Redis & { chatSay: (...args: (string | number)[]) => Promise<number> }).chatSay(
      saidOf(said.client, said.seq),
      counterOf(room.name),
      historyOf(room.name),
      JSON.stringify(message),
      state.options.duplicateWindowMs,
      state.options.historyLimit,
      channelOf(room.name),
    ),
  );
  // A repeat (the script returned 0) is acknowledged again, or the client would resend it for
  // ever. The ack comes last: once the client hears it, the message is in Redis.
  send(connection, { type: "ack", client: said.client, seq: said.seq });
}

function toMessage(text: string): ChatMessage {
  const { id, message } = JSON.parse(text) as {
    id: number;
    message: Omit<ChatMessage, "type" | "id">;
  };
  return {
    type: "message",
    room: message.room,
    id,
    from: message.from,
    client: message.client,
    seq: message.seq,
    text: message.text,
  };
}

/** What the bus brought for `room`: a message for its members here, or a presence change. */
function onEnvelope(state: State, room: Room, text: string): void {
  const envelope = JSON.parse(text) as Envelope;
  if ("presence" in envelope) {
    void tellPresence(state, room, true);
    return;
  }
  const message = toMessage(text);
  if (room.held !== undefined) room.held.push(message);
  else toMembers(room, message);
}

/** A message for every member here: now to those live, after their replay to those joining. */
function toMembers(room: Room, message: ChatMessage): void {
  for (const [connection, membership] of room.members) {
    if (membership.phase === "replaying") membership.queue.push(message);
    else deliver(connection, membership, message);
  }
}

/** Sends a message once: never an id this connection has had already. */
function deliver(connection: Connection, membership: Membership, message: ChatMessage): void {
  if (message.id <= membership.last) return;
  membership.last = message.id;
  send(connection, message);
}

/** Tells every instance that `room`'s members changed. Lost if Redis is down: heartbeats catch up. */
function announce(state: State, room: string): void {
  const notice: Envelope = { presence: true };
  state.bus.publish(channelOf(room), JSON.stringify(notice)).catch(() => {});
}

/** Sends `room`'s members to this instance's clients there: always, or only when they changed. */
async function tellPresence(state: State, room: Room, always: boolean): Promise<void> {
  if (room.members.size === 0) return;
  let members: string[];
  try {
    members = await state.presence.list(room.name);
  } catch {
    return; // Redis is down: the next heartbeat looks again
  }
  const listed = JSON.stringify(members);
  if (!always && listed === room.presence) return;
  room.presence = listed;
  for (const connection of room.members.keys()) {
    send(connection, { type: "presence", room: room.name, members });
  }
}

/** After each presence heartbeat: members of other instances may have expired, unannounced. */
async function heartbeat(state: State): Promise<void> {
  await Promise.all([...state.rooms.values()].map((room) => tellPresence(state, room, false)));
}

/**
 * After the bus was cut off, each room's history has what its members here may have missed:
 * pub/sub kept nothing for a subscriber that was away. What the bus brings from now on waits
 * until the history is sent: a later id sent first would make a missed one look seen, and both
 * deliver() and lesson 06's client drop an id at or below the last one.
 */
async function catchUp(state: State): Promise<void> {
  const turn = ++state.catchUps;
  // A room still held by an earlier catch-up that is waiting is this one's to let go.
  const rooms = [...state.rooms.values()].filter(
    (room) => room.members.size > 0 || room.held !== undefined,
  );
  for (const room of rooms) room.held ??= [];
  // Each connection reconnects on its own: the one that reads may not be back yet.
  if (state.redis.status !== "ready") await once(state.redis, "ready");
  const histories = await Promise.all(
    rooms.map((room) =>
      state.redis.lrange(historyOf(room.name), 0, -1).then(
        (kept) => kept.map(toMessage),
        () => [], // down again: what was missed stays missed, and the next reconnection reads
      ),
    ),
  );
  if (turn !== state.catchUps) return; // a later catch-up reads again, and lets them go
  rooms.forEach((room, i) => {
    for (const message of histories[i]!) toMembers(room, message);
    const held = room.held ?? [];
    room.held = undefined;
    for (const message of held) toMembers(room, message);
  });
}

function onClose(state: State, connection: Connection): void {
  state.connections.delete(connection);
  for (const room of connection.rooms.values()) {
    room.members.delete(connection);
    // If Redis is down, this user's entry expires on its own: that is what the ttl is for.
    state.presence
      .leave(room.name, connection.user)
      .then(() => announce(state, room.name))
      .catch(() => {});
  }
  connection.rooms.clear();
}

function send(connection: Connection, message: ServerMessage): void {
  if (connection.socket.readyState === WebSocket.OPEN)
    connection.socket.send(JSON.stringify(message));
}

async function close(state: State): Promise<void> {
  if (state.phase === "closed") return;
  state.phase = "closed";
  const closed = [...state.connections].map(
    ({ socket }) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        // 1001 Going Away (RFC 6455 §7.4.1): "a server going down".
        socket.close(1001, "server shutting down");
      }),
  );
  await Promise.all(closed);
  state.wss.close();
  await Promise.all([state.presence.close(), state.bus.close()]);
  state.redis.disconnect();
}
