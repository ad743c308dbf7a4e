/**
 * DataLoader per request: every `load(id)` made while one level of a query resolves is gathered
 * into one batch, and the batch is one store query (`WHERE user_id IN (...)`), so a list of 20
 * users costs one query for all their orders, not 20.
 */
import DataLoader from "dataloader";
import type { Order, Review, Store, User } from "#reference/lesson-08-rest/store.ts";

export interface Loaders {
  user: DataLoader<string, User | null>;
  /** Every order of a user, oldest first; a resolver takes the `last` it was asked for. */
  ordersByUser: DataLoader<string, Order[]>;
  reviewsByUser: DataLoader<string, Review[]>;
}

/**
 * New loaders for one request. Never share them between requests: a loader caches what it
 * loaded, and one user's cache must not answer another user's request or outlive a write.
 */
export function createLoaders(store: Store): Loaders {
  return {
    // DataLoader's batch function must return one result per key, in the keys' order.
    user: new DataLoader((ids) => Promise.resolve(store.getUsers(ids).map((u) => u ?? null))),
    ordersByUser: new DataLoader((ids) => Promise.resolve(store.ordersOfUsers(ids))),
    reviewsByUser: new DataLoader((ids) => Promise.resolve(store.reviewsOfUsers(ids))),
  };
}
