/** Step 4: lesson 07's event stream, its history in a Redis Stream. */
import type http from "node:http";
import { todo } from "#shared/todo.ts";

export interface EventStreamOptions {
  instance: string;
  redisUrl: string;
}

export interface ClusterEventStream {
  /** Answers GET /events and POST /messages; anything else 404. */
  handle(request: http.IncomingMessage, response: http.ServerResponse): void;
  /** Ends every open stream and this instance's Redis connections. */
  close(): Promise<void>;
}

export function createEventStream(options: EventStreamOptions): ClusterEventStream {
  return todo("lesson-13-scaling", "createEventStream()", "Step 4");
}
