/**
 * Step 1: a message bus over Redis pub/sub, so that what one instance publishes reaches every
 * instance that subscribed, including itself.
 *
 *   instance a ──PUBLISH chat:lobby──► redis-server ──► every connection SUBSCRIBEd to chat:lobby
 *                                                        (instance a, b, c, redis-cli ...)
 *
 * Two connections, because "once the client enters the subscribed state it is not supposed to
 * issue any other commands, except for additional SUBSCRIBE, SSUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
 * SUNSUBSCRIBE, PUNSUBSCRIBE, PING, RESET and QUIT" (Redis docs, "Redis Pub/Sub"): one connection
 * publishes, the other only listens.
 *
 * Delivery is at most once: "Redis Pub/Sub exhibits at-most-once message delivery semantics ...
 * if the subscriber is unable to handle the message (for example, due to an error or a network
 * disconnection) the message is forever lost" (same page). Nothing is kept: a subscriber that is
 * reconnecting misses what was published meanwhile. What must not be lost is kept elsewhere
 * (Step 3 keeps each room's history in a list beside the bus).
 *
 * When Redis goes away, ioredis reconnects (retryStrategy below) and, with autoResubscribe, sends
 * SUBSCRIBE again for every channel it had: listeners need not know. Commands given while it is
 * down fail at once (enableOfflineQueue: false, once connected) instead of waiting in memory for a Redis that may
 * not come back: the caller decides what a failure means.
 */
import { Redis } from "ioredis";

export interface BusOptions {
  /** Where Redis is, as ioredis takes it: `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /**
   * Called when the subscribing connection is back after a drop and subscribed again: whatever
   * was published meanwhile is gone (at most once), and the caller may want to catch up. What
   * came on the new connection before this call is handed to the listeners just after it.
   */
  onReconnect?: () => void;
}

export interface Bus {
  /** Sends `message` to every subscriber of `channel`, on every instance; fails if Redis is down. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` with each message published on `channel` from now on. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  /** Closes both Redis connections. */
  close(): Promise<void>;
}

/** How long ioredis waits before reconnecting: 50 ms, 100 ms, ... and never more than 500 ms. */
function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, 500);
}

/**
 * A Redis connection as every part of this lesson opens one: commands fail at once while Redis
 * is unreachable, and it reconnects by itself.
 */
export function connectRedis(redisUrl: string): Redis {
  const redis = new Redis(redisUrl, {
    // Commands given before the first connection is up wait for it: the process has just started.
    enableOfflineQueue: true,
    // A command in flight when the connection dropped fails too, as the connection closes: it may
    // or may not have run, and only the caller knows whether it is safe to send again. Not sent
    // again (autoResendUnfulfilledCommands) and not kept for the next connections (by default
    // ioredis keeps it through 20 reconnection attempts, and once one succeeds, it is forgotten
    // with its promise never settled: its caller would wait for ever).
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
  });
  // ioredis reports each failed reconnection as "error"; it goes on trying, and the commands
  // given meanwhile fail with their own error. Without a listener each would be printed.
  redis.on("error", () => {});
  // From then on, a command given while Redis is away fails at once: ioredis reads this option
  // each time a command is sent.
  redis.once("ready", () => {
    redis.options.enableOfflineQueue = false;
  });
  return redis;
}

export function createBus(options: BusOptions): Bus {
  const publisher = connectRedis(options.redisUrl);
  const subscriber = connectRedis(options.redisUrl);
  // Channel names come from the network (room names): a Map, never a plain object.
  const listeners = new Map<string, Set<(message: string) => void>>();
  // From a drop until onReconnect has been called, what the new connection brings is held: a
  // caller that catches up there sees it after it has begun, not before.
  let held: [channel: string, message: string][] | undefined;
  const dispatch = (channel: string, message: string) => {
    for (const listener of listeners.get(channel) ?? []) listener(message);
  };
  subscriber.on("close", () => {
    held ??= [];
  });
  subscriber.on("ready", () => {
    if (held === undefined) return;
    // ioredis sent SUBSCRIBE again before "ready"; a PING after them on the same connection
    // (allowed in the subscribed state) answers once they are all in place.
    subscriber.ping().then(
      () => {
        const messages = held ?? [];
        held = undefined;
        options.onReconnect?.();
        for (const [channel, message] of messages) dispatch(channel, message);
      },
      () => {}, // dropped again: the next "ready" asks again
    );
  });
  subscriber.on("message", (channel: string, message: string) => {
    if (held === undefined) dispatch(channel, message);
    else held.push([channel, message]);
  });
  return {
    async publish(channel, message) {
      await publisher.publish(channel, message);
    },
    async subscribe(channel, listener) {
      let set = listeners.get(channel);
      if (set === undefined) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(listener);
      try {
        // Resolves once Redis has confirmed: from then on, nothing published there is missed.
        await subscriber.subscribe(channel);
      } catch (error) {
        set.delete(listener);
        throw error;
      }
    },
    async close() {
      listeners.clear();
      // disconnect(), not quit(): a Redis that is down would never answer QUIT.
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
