/** Step 5: Socket.IO across instances with the Redis Streams adapter. */
import type http from "node:http";
import { todo } from "#shared/todo.ts";

export interface ClusterSocketIoOptions {
  instance: string;
  redisUrl: string;
}

export interface ClusterSocketIo {
  /** Closes Socket.IO's clients and its Redis connection (not the http.Server). */
  close(): Promise<void>;
}

export function attachClusterSocketIo(
  server: http.Server,
  options: ClusterSocketIoOptions,
): ClusterSocketIo {
  return todo("lesson-13-scaling", "attachClusterSocketIo()", "Step 5");
}
