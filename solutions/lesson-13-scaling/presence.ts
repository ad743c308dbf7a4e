/** Step 2: who is in a room, kept in Redis with expiry. */
import { todo } from "#shared/todo.ts";

export interface PresenceOptions {
  redisUrl: string;
  /** This instance's name. */
  instance: string;
}

export interface Presence {
  close(): Promise<void>;
}

export function createPresence(options: PresenceOptions): Presence {
  return todo("lesson-13-scaling", "createPresence()", "Step 2");
}
