/**
 * The message feed: an ordered store of messages, read with a cursor, and the long polls waiting
 * for its next message. It knows nothing about HTTP; server.ts puts it on the wire.
 *
 *   append()  ──► [ 1 ][ 2 ][ 3 ][ 4 ]   ids increase by one, with no gaps
 *                           ▲
 *                  after(2) = [ 3 ][ 4 ]   "everything newer than the cursor 2"
 *
 * The cursor is the whole trick of polling without loss: a reader asks for what is newer than the
 * last id it has seen, so a message that arrives while no request is open is simply picked up by
 * the next one, and nothing is handed out twice.
 */
import { EventEmitter } from "node:events";
import { todo } from "#shared/todo.ts";
import { FeedRangeError } from "./errors.ts";

export interface MessageInput {
  author: string;
  text: string;
}

export interface Message extends MessageInput {
  /** 1, 2, 3, ...: the cursor readers pass back as `after`. */
  id: number;
  /** When the feed accepted it, as an ISO 8601 timestamp in UTC. */
  at: string;
}

export interface FeedOptions {
  /** How many messages the feed keeps; the oldest are dropped beyond it. Ids keep counting. */
  maxMessages?: number;
  /** The clock. Tests may pass their own. */
  now?: () => Date;
}

export interface WaitOptions {
  /** Give up after this long, and resolve with no messages. */
  timeoutMs: number;
  /** Resolve with at most this many messages. */
  limit: number;
  /** Aborting it gives up at once: the waiter is removed and its timer cleared. */
  signal?: AbortSignal;
}

/** What the feed emits: each accepted message, and the number of waiters whenever it changes. */
export interface FeedEvents {
  message: [message: Message];
  waiting: [count: number];
}

/** One long poll waiting for a message newer than `after`. */
interface Waiter {
  after: number;
  limit: number;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  resolve: (messages: Message[]) => void;
}

export const DEFAULT_MAX_MESSAGES = 1_000;

const L = "lesson-05-polling";

// The fields and the constructor are given; the methods are yours.
export class MessageFeed extends EventEmitter<FeedEvents> {
  readonly maxMessages: number;
  readonly #now: () => Date;
  /** The messages kept, oldest first. Their ids are consecutive. */
  readonly #messages: Message[] = [];
  readonly #waiters = new Set<Waiter>();
  #lastId = 0;

  constructor(options: FeedOptions = {}) {
    super();
    this.maxMessages = options.maxMessages ?? DEFAULT_MAX_MESSAGES;
    if (!Number.isInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new FeedRangeError(`Invalid maxMessages: ${JSON.stringify(options.maxMessages)}`);
    }
    this.#now = options.now ?? (() => new Date());
  }

  /** The id of the newest message, 0 before the first. */
  get lastId(): number {
    // TODO: The id of the newest message, kept in #lastId.
    return todo(L, "MessageFeed.lastId", "Step 1");
  }

  /**
   * The id of the oldest message kept, 0 before the first. The feed holds every id from here to
   * lastId, so a cursor below `oldestId - 1` has missed messages that are gone (see Step 2).
   */
  get oldestId(): number {
    // TODO: The id of the first message in #messages, 0 while there is none.
    return todo(L, "MessageFeed.oldestId", "Step 1");
  }

  /** How many long polls are waiting right now. */
  get waiting(): number {
    // TODO: The size of the set of waiters.
    return todo(L, "MessageFeed.waiting", "Step 3");
  }

  /** Stores a message under the next id, then wakes every waiter it is news to. */
  append(input: MessageInput): Message {
    // TODO: Build the message: the next id, the author and text, and `at` from this.#now().
    // TODO: Keep it, and update #lastId.
    // TODO: The store is capped like any buffer: beyond maxMessages, drop the oldest. A reader
    // whose cursor falls behind the oldest message kept has lost messages: the server tells it so
    // with oldestId (see the README, Step 2).
    // TODO: Emit "message" with it, and return it.
    // TODO: Step 3, not before (at Steps 1 and 2 there are no waiters to answer; leave this one
    // until waitFor() is written): after the emit, answer every waiter the message is news to, all
    // in this one call (one turn of the event loop): each with this.after(its cursor, its limit). A
    // waiter whose cursor is ahead of the feed (a reader that saw ids from an earlier run) waits on.
    // If any were answered, emit "waiting" once, with the new count.
    return todo(L, "MessageFeed.append()", "Step 1");
  }

  /** At most `limit` messages newer than the cursor `id`, oldest first. */
  after(id: number, limit: number): Message[] {
    // TODO: A limit that is not a whole number of 1 or more is the caller's bug: a FeedRangeError
    // that names it.
    // TODO: Ids have no gaps, so the message with id n sits at index n - oldest.id: no search
    // needed. Slice out at most `limit` messages from there.
    return todo(L, "MessageFeed.after()", "Step 1");
  }

  /**
   * Resolves with the messages newer than `after` as soon as there are any (at once if there
   * already are), or with none when the timeout passes or the signal aborts. It never rejects:
   * every way out of the wait is an answer.
   */
  waitFor(after: number, { timeoutMs, limit, signal }: WaitOptions): Promise<Message[]> {
    // TODO: Something newer already: resolve with it at once, even if the signal is already
    // aborted (there is nothing to wait for, so nothing to give up). Else a signal already aborted:
    // resolve with no messages at once, and register nothing (it never fires "abort" again).
    // TODO: Otherwise a promise whose Waiter holds the cursor, the limit, the promise's resolve,
    // a timer that gives up after timeoutMs, and an abort listener that gives up too. Add the
    // waiter, and emit "waiting" with the new count.
    // TODO: A wait ends once, whichever comes first: a message (see append()), the timer or the
    // abort. Giving up answers with no messages and emits "waiting" with the new count; a waiter
    // already answered is not given up again. However it ends, undo everything the wait set up
    // (the waiter leaves the set, its timer is cleared, its abort listener removed), then resolve:
    // a timer left behind keeps the process alive and fires into a waiter that is gone; a listener
    // left behind keeps the waiter in memory as long as the signal lives.
    return todo(L, "MessageFeed.waitFor()", "Step 3");
  }
}
