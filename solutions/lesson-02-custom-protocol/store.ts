/**
 * The key-value store behind the server: binary keys, binary values, optional expiry.
 *
 * Keys arrive as bytes. A Map compares strings, so each key becomes a string of its bytes read as
 * latin1, where every byte is exactly one character: two different byte sequences can never give
 * the same string. (Decoding as UTF-8 would turn every invalid sequence into the same U+FFFD and
 * merge keys that differ.) A Map, not a plain object, so `__proto__` is an ordinary key.
 *
 * Expired keys are removed lazily, when they are read, and by `sweep()`, which the server runs on
 * one unref'd interval. There is no timer per key: a million keys with a TTL cost no timers, and
 * nothing here keeps the process alive.
 */

export interface StoreOptions {
  /** The clock, in milliseconds. Tests pass their own to move time without waiting. */
  now?: () => number;
}

export class Store {
  readonly #values = new Map<string, Buffer>();
  /** Expiry time (ms) of each key that has one. */
  readonly #expiresAt = new Map<string, number>();
  readonly now: () => number;

  constructor(options: StoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get(key: Buffer): Buffer | undefined {
    const id = idOf(key);
    this.#expireIfDue(id);
    return this.#values.get(id);
  }

  has(key: Buffer): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Stores `value` under `key`. `expiresAt` (ms on the store's clock) sets a TTL; `"keep"` keeps
   * the key's current TTL (as INCR does); undefined removes any TTL (as a plain SET does).
   */
  set(key: Buffer, value: Buffer, expiresAt?: number | "keep"): void {
    const id = idOf(key);
    this.#expireIfDue(id);
    // A copy: `value` may be a view of a network chunk (the parser does not copy), and a stored
    // view would keep the whole chunk in memory for as long as the key lives.
    this.#values.set(id, Buffer.from(value));
    if (expiresAt === undefined) this.#expiresAt.delete(id);
    else if (expiresAt !== "keep") this.#expiresAt.set(id, expiresAt);
  }

  delete(key: Buffer): boolean {
    const id = idOf(key);
    this.#expireIfDue(id);
    this.#expiresAt.delete(id);
    return this.#values.delete(id);
  }

  /** Removes every key whose time has come; returns how many. */
  sweep(): number {
    let removed = 0;
    for (const id of this.#expiresAt.keys()) if (this.#expireIfDue(id)) removed++;
    return removed;
  }

  /** Keys stored, expired ones not yet swept included. */
  get size(): number {
    return this.#values.size;
  }

  #expireIfDue(id: string): boolean {
    const expiresAt = this.#expiresAt.get(id);
    // As in Redis's keyIsExpired(): a key has expired once the time is *greater* than its expiry
    // time, so `SET k v PX 100` is still there 100 ms later, and gone 1 ms after that.
    if (expiresAt === undefined || this.now() <= expiresAt) return false;
    this.#expiresAt.delete(id);
    this.#values.delete(id);
    return true;
  }
}

function idOf(key: Buffer): string {
  return key.toString("latin1");
}
