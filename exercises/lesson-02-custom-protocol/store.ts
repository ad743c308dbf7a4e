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
  readonly now: () => number;

  constructor(options: StoreOptions = {}) {
    this.now = options.now ?? Date.now;
    // TODO: Keys are bytes: a Map keyed by the key's bytes read as latin1 (one character per
    //       byte), never a plain object, and an expiry time for the keys that have one.
  }

  /**
   * The value of `key`, or undefined. A key has expired once now() is *greater* than its expiry
   * time (Redis's keyIsExpired()); an expired key is removed when it is read (lazy expiry).
   */
  get(key: Buffer): Buffer | undefined {
    return todo(L, "Store.get()", "Step 3");
  }

  /** Whether `key` has a value that has not expired. */
  has(key: Buffer): boolean {
    return todo(L, "Store.has()", "Step 3");
  }

  /**
   * Stores `value` under `key`. `expiresAt` (ms on the store's clock) sets a TTL; `"keep"` keeps
   * the key's current TTL (as INCR does; a TTL that has passed is not kept); undefined removes
   * any TTL (as a plain SET does).
   */
  set(key: Buffer, value: Buffer, expiresAt?: number | "keep"): void {
    return todo(L, "Store.set()", "Step 3");
  }

  /** Removes `key`; true only if it had a value that had not expired. */
  delete(key: Buffer): boolean {
    return todo(L, "Store.delete()", "Step 3");
  }

  /** Removes every key whose time has passed; returns how many. No timer per key. */
  sweep(): number {
    return todo(L, "Store.sweep()", "Step 3");
  }

  /** Keys stored, expired ones not yet swept included. */
  get size(): number {
    return todo(L, "Store.size", "Step 3");
  }
}
