/**
 * Step 3: lesson 06's chat across instances. The protocol is lesson 06's, message for message
 * (chat-protocol.ts); what changes is where the state lives:
 *
 *   lesson 06 (one process)            here (any number of instances)
 *   room members: a Set in memory      this instance's members in memory, everyone's in Redis
 *                                      (presence.ts), each instance telling its own clients
 *   a message to the room: a loop      a Lua script in Redis numbers it, keeps it in the room's
 *                                      history and PUBLISHes it; every instance that has members
 *                                      there hears it (bus.ts) and sends it on to them
 *   "seen (client, seq)?": a Map       SET chat:said:<client>:<seq> NX PX: the first instance
 *                                      to ask wins, wherever the client resends from
 *
 * One say, from ada on instance a to bob on instance b:
 *
 *   ada ─say─► a ──EVALSHA say──► redis: SET NX? INCR id, RPUSH history, PUBLISH chat:room:lobby
 *   ada ◄─ack─ a ◄──── id ───────┘            │
 *                          b ◄── message ─────┘ ──► bob
 *
 * While Redis is unreachable nothing can be numbered, kept or delivered: a say is not
 * acknowledged, and its connection is closed with 1013 Try Again Later (RFC 6455 §7.4.1, the
 * IANA registry). Lesson 06's client resends what has no ack when it reconnects, so the message
 * goes out once Redis is back, once.
 */
import type http from "node:http";
import type stream from "node:stream";
import { todo } from "#shared/todo.ts";

export interface ClusterChatOptions {
  /** This instance's name. */
  instance: string;
  redisUrl: string;
  /**
   * The user an `access_token` names, or undefined (401). By default `<name>-token` names
   * `<name>` (letters only): a demo's rule, as in lesson 06's tests.
   */
  tokens?: (token: string) => string | undefined;
  /** How long a dead instance's users stay listed (presence.ts). */
  presenceTtlMs?: number;
  /** How many messages each room keeps in Redis for clients that come back with `after`. */
  historyLimit?: number;
  /** How long a (client, seq) is remembered to drop a resend of it. */
  duplicateWindowMs?: number;
}

export interface ClusterChat {
  /** For the server's "upgrade" event on /chat. */
  handleUpgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void;
  /** Closes every client with 1001 and this instance's Redis connections. */
  close(): Promise<void>;
}

export const DEFAULT_HISTORY_LIMIT = 1_000;
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;
/** RFC 6455 §7.4.1 and the IANA WebSocket Close Code registry: "Try Again Later". */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export function createClusterChat(options: ClusterChatOptions): ClusterChat {
  // TODO: lesson 06's chat (chat-protocol.ts) on ws in noServer mode, its rooms shared through
  // Redis: a say numbered, kept and PUBLISHed in one Lua script ("Redis guarantees the script's
  // atomic execution", Redis docs, "Scripting with Lua") after SET chat:said:<client>:<seq> NX PX;
  // presence from presence.ts; while Redis is down, no ack and a close with 1013.
  return todo("lesson-13-scaling", "createClusterChat()", "Step 3");
}
