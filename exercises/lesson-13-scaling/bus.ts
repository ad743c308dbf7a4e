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
 * down fail at once (enableOfflineQueue: false) instead of waiting in memory for a Redis that may
 * not come back: the caller decides what a failure means.
 */
import type { Redis } from "ioredis";
import { todo } from "#shared/todo.ts";

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

/**
 * A Redis connection as every part of this lesson opens one: commands fail at once while Redis
 * is unreachable, and it reconnects by itself.
 */
export function connectRedis(redisUrl: string): Redis {
  // TODO: new Redis(redisUrl, ...) with commands that fail while Redis is down instead of waiting
  // (ioredis's enableOfflineQueue), a reconnection delay, and a listener for its "error" events.
  return todo("lesson-13-scaling", "connectRedis()", "Step 1");
}

export function createBus(options: BusOptions): Bus {
  // TODO: two connections, one to PUBLISH and one in the subscribed state, which "is not supposed
  // to issue any other commands" (Redis docs, "Redis Pub/Sub"); tell onReconnect when the
  // subscriber is back and subscribed again.
  return todo("lesson-13-scaling", "createBus()", "Step 1");
}
