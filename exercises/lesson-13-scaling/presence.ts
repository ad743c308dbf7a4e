/**
 * Step 2: who is in a room, kept in Redis with expiry, so that it stays right when an instance
 * dies without a word.
 *
 *   presence:lobby   a sorted set, one member per (instance, user), scored by when it expires
 *     ["a","ada"]  1718000002000
 *     ["b","bob"]  1718000001500      <- instance b died: no heartbeat moves it on
 *
 * Each instance refreshes its own members every heartbeat (ZADD with a later score). Reading
 * takes the members whose expiry is still ahead (ZRANGEBYSCORE key now +inf): a dead instance's
 * users drop out within ttlMs, though nobody removed them. Expiry per member cannot be a key's
 * TTL (a sorted set expires as a whole), hence the score. The key itself gets a PEXPIRE too, so
 * a room everyone has left, on every instance, does not stay in Redis for ever.
 *
 * The scores are this machine's clock: instances whose clocks disagree by more than the ttl
 * would see each other's users come and go. (A real deployment runs NTP.)
 */
import { todo } from "#shared/todo.ts";

export interface PresenceOptions {
  redisUrl: string;
  /** This instance's name. */
  instance: string;
  /** How long a member stays listed without a heartbeat: the time a dead instance's users linger. */
  ttlMs?: number;
  /** How often this instance refreshes its members; ttlMs / 4 by default, so one lost beat is harmless. */
  heartbeatMs?: number;
  /** Called after each heartbeat, to let the chat look for members who expired. */
  onHeartbeat?: () => void;
}

export interface Presence {
  /** `user` is in `room` on this instance (once more: a user may have several connections). */
  join(room: string, user: string): Promise<void>;
  /** One of `user`'s connections in `room` on this instance has gone. */
  leave(room: string, user: string): Promise<void>;
  /** The users in `room` on every instance, sorted, each once. */
  list(room: string): Promise<string[]>;
  /** Stops the heartbeat, removes this instance's members, and closes the connection. */
  close(): Promise<void>;
}

export const DEFAULT_PRESENCE_TTL_MS = 2_000;

export function createPresence(options: PresenceOptions): Presence {
  // TODO: a sorted set per room, one member per (instance, user) scored by its expiry time, moved
  // on by this instance's heartbeat; list() reads ZRANGEBYSCORE key now +inf (Redis docs, "ZADD",
  // "ZRANGEBYSCORE"), so that a dead instance's users drop out within ttlMs.
  return todo("lesson-13-scaling", "createPresence()", "Step 2");
}
