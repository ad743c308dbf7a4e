/**
 * Step 1: a message bus over Redis pub/sub, so that what one instance publishes reaches every
 * instance that subscribed, including itself.
 */
import { todo } from "#shared/todo.ts";

export interface BusOptions {
  /** Where Redis is, as ioredis takes it: `redis://127.0.0.1:6379`. */
  redisUrl: string;
}

export interface Bus {
  /** Sends `message` to every subscriber of `channel`, on every instance. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` with each message published on `channel` from now on. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  /** Closes both Redis connections. */
  close(): Promise<void>;
}

export function createBus(options: BusOptions): Bus {
  // TODO (Step 1): the rule to implement, with the Redis docs section.
  return todo("lesson-13-scaling", "createBus()", "Step 1");
}
