/**
 * DataLoader per request. A list of 20 users asks `User.orders` 20 times, once per user; without
 * help each is its own store query (the N+1 problem: 1 for the list, then N more per field).
 * A loader's `load(id)` does not query at once: it collects every id asked for while the current
 * level of the query resolves, then calls its batch function once with all of them, which is one
 * store query (`WHERE user_id IN (...)`). 20 users, 200 users: still one query per field.
 *
 *   User.orders(101) -> load("101") --+
 *   User.orders(102) -> load("102") --+--> batch(["101", "102", "103"]) -> ordersOfUsers(...)
 *   User.orders(103) -> load("103") --+     one result per key, in the keys' order
 *
 * It also keeps what it loaded (a per-request cache), so the same user asked for twice in one
 * query is loaded once.
 */
import DataLoader from "dataloader";
import type { Order, Review, Store, User } from "#reference/lesson-08-rest/store.ts";

export interface Loaders {
  /** The user with each id, null for an id the store does not have. */
  user: DataLoader<string, User | null>;
  /** Every order of each user, oldest first; a resolver keeps the `last` it was asked for. */
  ordersByUser: DataLoader<string, Order[]>;
  /** Every review of each user. */
  reviewsByUser: DataLoader<string, Review[]>;
}

/**
 * New loaders for one request. Never share them between requests: a loader caches what it
 * loaded, and one request's cache must not answer another request, or outlive a write.
 */
export function createLoaders(store: Store): Loaders {
  // A batch function must return one result per key, in the keys' order: DataLoader gives the
  // i-th result to the i-th load(). The store's list queries answer in the order of the ids they
  // are given, so each batch is one query and nothing to reorder.
  return {
    user: new DataLoader(async (ids) => store.getUsers(ids).map((user) => user ?? null)),
    ordersByUser: new DataLoader(async (ids) => store.ordersOfUsers(ids)),
    reviewsByUser: new DataLoader(async (ids) => store.reviewsOfUsers(ids)),
  };
}
