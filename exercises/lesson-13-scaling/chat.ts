/** Step 3: lesson 06's chat across instances. */
import type http from "node:http";
import type stream from "node:stream";
import { todo } from "#shared/todo.ts";

export interface ClusterChatOptions {
  /** This instance's name. */
  instance: string;
  redisUrl: string;
}

export interface ClusterChat {
  /** For the server's "upgrade" event on /chat. */
  handleUpgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void;
  /** Closes every client with 1001 and this instance's Redis connections. */
  close(): Promise<void>;
}

export function createClusterChat(options: ClusterChatOptions): ClusterChat {
  return todo("lesson-13-scaling", "createClusterChat()", "Step 3");
}
