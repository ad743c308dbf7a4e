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
import { connectRedis } from "./bus.ts";

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

const key = (room: string) => `presence:${room}`;
/** JSON, so that no room or user name can be mistaken for the separator. */
const memberOf = (instance: string, user: string) => JSON.stringify([instance, user]);

export function createPresence(options: PresenceOptions): Presence {
  const ttlMs = options.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
  const heartbeatMs = options.heartbeatMs ?? ttlMs / 4;
  const redis = connectRedis(options.redisUrl);
  /** This instance's members: room -> user -> how many of their connections are in it. */
  const local = new Map<string, Map<string, number>>();

  const refresh = async (room: string): Promise<void> => {
    const users = local.get(room);
    if (users === undefined || users.size === 0) return;
    const expires = Date.now() + ttlMs;
    const args = [...users.keys()].flatMap((user) => [expires, memberOf(options.instance, user)]);
    await redis
      .multi()
      .zadd(key(room), ...args)
      .pexpire(key(room), ttlMs)
      .exec();
  };

  // The heartbeat also puts everyone back after Redis restarted empty.
  const timer = setInterval(() => {
    const beats = [...local.keys()].map((room) => refresh(room));
    // A failed beat (Redis down) is not an error: the next one tries again, and until then the
    // members simply age, which is what presence with expiry is for.
    void Promise.allSettled(beats).then(() => options.onHeartbeat?.());
  }, heartbeatMs);
  timer.unref();

  return {
    async join(room, user) {
      let users = local.get(room);
      if (users === undefined) {
        users = new Map();
        local.set(room, users);
      }
      users.set(user, (users.get(user) ?? 0) + 1);
      await refresh(room);
    },
    async leave(room, user) {
      const users = local.get(room);
      const count = users?.get(user) ?? 0;
      if (users === undefined || count === 0) return;
      if (count > 1) {
        users.set(user, count - 1);
        return;
      }
      users.delete(user);
      if (users.size === 0) local.delete(room);
      await redis.zrem(key(room), memberOf(options.instance, user));
    },
    async list(room) {
      const now = Date.now();
      // The expired are removed on the way, so the set does not grow with the dead; the read
      // itself takes only members whose expiry is still ahead, whatever else happened meanwhile.
      await redis.zremrangebyscore(key(room), "-inf", now);
      const members = await redis.zrangebyscore(key(room), now, "+inf");
      const users = members.map((member) => (JSON.parse(member) as [string, string])[1]);
      return [...new Set(users)].sort();
    },
    async close() {
      clearInterval(timer);
      const mine = [...local].flatMap(([room, users]) =>
        [...users.keys()].map((user) => redis.zrem(key(room), memberOf(options.instance, user))),
      );
      local.clear();
      await Promise.allSettled(mine);
      redis.disconnect();
    },
  };
}
