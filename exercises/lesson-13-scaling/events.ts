/**
 * Step 4: lesson 07's event stream, its history in a Redis Stream, so that any instance can replay
 * what a client missed, whichever instance it was on before.
 *
 *   POST /messages {author, text}  ──► XADD events MAXLEN ~ 1000 * message {...}  ──► 201, id
 *                                                       │
 *   one reader per instance: XREAD BLOCK 5000 STREAMS events <last id seen>
 *                                                       │ each entry, to every open stream here
 *   GET /events                                         ▼
 *     Last-Event-ID: 1733140000000-3 ──► XRANGE events (1733140000000-3 + ──► replay, then live
 *
 * The stream's entry ids are the events' ids: `<ms>-<seq>`, growing, the same on every instance.
 * So a client that was on instance a, and comes back through HAProxy to instance b with the last
 * id it got, resumes exactly after it. Replay and live meet without a gap or a repeat: a stream
 * listens to the reader before it asks for the replay, and the ids say which events it has sent.
 */
import type http from "node:http";
import { todo } from "#shared/todo.ts";

export interface EventStreamOptions {
  /** This instance's name. */
  instance: string;
  /** Where Redis is, as ioredis takes it: `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** The Redis key of the stream; one stream for the whole cluster. */
  key?: string;
  /** About how many messages the stream keeps (`MAXLEN ~`): older ones cannot be replayed. */
  maxMessages?: number;
  /** The reconnection time sent at the start of each event stream (ms). */
  retryMs?: number;
  /** How often a quiet event stream gets a comment (ms). */
  heartbeatMs?: number;
}

export interface ClusterEventStream {
  /** Answers GET /events and POST /messages; anything else 404. */
  handle(request: http.IncomingMessage, response: http.ServerResponse): void;
  /** Ends every open stream and this instance's Redis connections. */
  close(): Promise<void>;
}

/** A message as it is stored and sent: lesson 05's, with the stream entry's id. */
export interface StreamMessage {
  id: string;
  author: string;
  text: string;
  at: string;
}

export const EVENT_DEFAULTS = {
  key: "lesson-13:events",
  maxMessages: 1_000,
  retryMs: 1_000,
  heartbeatMs: 15_000,
} as const;

export function createEventStream(options: EventStreamOptions): ClusterEventStream {
  // TODO: Two Redis connections (a connection blocked in XREAD can send nothing else), and one
  // reader loop per instance: XREAD BLOCK ... STREAMS <key> <last id seen>, starting after the
  // stream's last entry when the instance starts (no stream opens before the reader knows it),
  // each entry written to every open stream of this instance. handle() answers:
  //   POST /messages: lesson 05's message (parseMessageInput), XADD <key> MAXLEN ~ maxMessages *
  //     (Redis docs, XADD, "Capped streams"); 201 with { id: the entry id, author, text, at };
  //     400 with a problem body for bad JSON or a bad message; 503 at once while Redis is away.
  //   GET /events: text/event-stream (the HTML standard's "Server-sent events"), retry first;
  //     with a Last-Event-ID that is an entry id, every entry after it (XRANGE with an exclusive
  //     start), an `expired` event first if entries after it were trimmed away, then the live
  //     ones, each exactly once: listen to the reader before you read the history. Another
  //     Last-Event-ID is a first connection. If Redis is away, end the stream so the client comes
  //     back after `retry` ms (an error status would make an EventSource stop for good).
  // close() ends every open stream and both connections.
  return todo("lesson-13-scaling", "createEventStream()", "Step 4");
}

/**
 * Stream ids compared as Redis compares them: -1, 0 or 1 (or any negative, zero, positive).
 */
export function compareIds(a: string, b: string): number {
  // TODO: An entry id is `<ms>-<seq>`, two whole numbers of up to 64 bits (Redis docs, "Streams",
  // "Entry IDs"): compare the milliseconds, then the sequence. Neither strings ("9" > "10") nor
  // Numbers (exact only up to 2^53) compare them right.
  return todo("lesson-13-scaling", "compareIds()", "Step 4");
}
