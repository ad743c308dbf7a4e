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
    return this.#lastId;
  }

  /**
   * The id of the oldest message kept, 0 before the first. The feed holds every id from here to
   * lastId, so a cursor below `oldestId - 1` has missed messages that are gone (see Step 2).
   */
  get oldestId(): number {
    return this.#messages[0]?.id ?? 0;
  }

  /** How many long polls are waiting right now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Stores a message under the next id, then wakes every waiter it is news to. */
  append(input: MessageInput): Message {
    const message: Message = {
      id: this.#lastId + 1,
      author: input.author,
      text: input.text,
      at: this.#now().toISOString(),
    };
    this.#lastId = message.id;
    this.#messages.push(message);
    // The store is capped like any buffer. A reader whose cursor falls behind the oldest message
    // kept has lost messages: the server tells it so with oldestId (see the README, Step 2).
    if (this.#messages.length > this.maxMessages) this.#messages.shift();
    this.emit("message", message);
    this.#release();
    return message;
  }

  /** At most `limit` messages newer than the cursor `id`, oldest first. */
  after(id: number, limit: number): Message[] {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new FeedRangeError(`Invalid limit: ${JSON.stringify(limit)}`);
    }
    const oldest = this.#messages[0];
    if (oldest === undefined) return [];
    // Ids have no gaps, so the message with id n sits at index n - oldest.id: no search needed.
    const start = Math.max(0, id + 1 - oldest.id);
    return this.#messages.slice(start, start + limit);
  }

  /**
   * Resolves with the messages newer than `after` as soon as there are any (at once if there
   * already are), or with none when the timeout passes or the signal aborts. It never rejects:
   * every way out of the wait is an answer.
   */
  waitFor(after: number, { timeoutMs, limit, signal }: WaitOptions): Promise<Message[]> {
    const ready = this.after(after, limit);
    if (ready.length > 0 || signal?.aborted) return Promise.resolve(ready);

    return new Promise((resolve) => {
      const waiter: Waiter = {
        after,
        limit,
        signal,
        resolve,
        timer: setTimeout(() => this.#giveUp(waiter), timeoutMs),
        onAbort: () => this.#giveUp(waiter),
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
      this.emit("waiting", this.#waiters.size);
    });
  }

  /** A new message: answer every waiter it is news to, all in this one turn of the event loop. */
  #release(): void {
    let released = 0;
    for (const waiter of this.#waiters) {
      // A cursor ahead of the feed (a reader that saw ids from an earlier run) waits on.
      if (waiter.after >= this.#lastId) continue;
      this.#settle(waiter, this.after(waiter.after, waiter.limit));
      released++;
    }
    if (released > 0) this.emit("waiting", this.#waiters.size);
  }

  /** The timeout passed, or the client went away: answer with nothing. */
  #giveUp(waiter: Waiter): void {
    if (!this.#waiters.has(waiter)) return;
    this.#settle(waiter, []);
    this.emit("waiting", this.#waiters.size);
  }

  /** Removes the waiter and everything it holds (its timer, its abort listener), then answers. */
  #settle(waiter: Waiter, messages: Message[]): void {
    this.#waiters.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(messages);
  }
}
