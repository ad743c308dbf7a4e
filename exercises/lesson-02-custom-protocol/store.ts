import { todo } from "#shared/todo.ts";

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

const L = "lesson-02-custom-protocol";

export class Store {
  readonly #values = new Map<string, Buffer>();
  /** Expiry time (ms) of each key that has one. */
  readonly #expiresAt = new Map<string, number>();
  readonly now: () => number;

  constructor(options: StoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get(key: Buffer): Buffer | undefined {
    // TODO: Expire the key if its time has come, then look it up.
    return todo(L, "Store.get()", "Step 3");
  }

  has(key: Buffer): boolean {
    return todo(L, "Store.has()", "Step 3");
  }

  /**
   * Stores `value` under `key`. `expiresAt` (ms on the store's clock) sets a TTL; `"keep"` keeps
   * the key's current TTL (as INCR does); undefined removes any TTL (as a plain SET does).
   */
  set(key: Buffer, value: Buffer, expiresAt?: number | "keep"): void {
    // TODO: Expire the key if due (an expired TTL must not be kept), store the value, then set,
    //       keep or remove its expiry time.
    return todo(L, "Store.set()", "Step 3");
  }

  delete(key: Buffer): boolean {
    // TODO: True only if a live key was removed: an expired key counts as absent.
    return todo(L, "Store.delete()", "Step 3");
  }

  /** Removes every key whose time has come; returns how many. */
  sweep(): number {
    // TODO: Walk the keys that have an expiry time, expiring each one that is due.
    return todo(L, "Store.sweep()", "Step 3");
  }

  /** Keys stored, expired ones not yet swept included. */
  get size(): number {
    return todo(L, "Store.size", "Step 3");
  }

  // TODO: #expireIfDue(id): as in Redis's keyIsExpired(), a key has expired once now() is
  //       *greater* than its expiry time: then delete it from both maps and return true.
  // TODO: a function turning a key's bytes into the Map's string key (latin1: one character
  //       per byte).
}
