/**
 * The course's data set, given: users, their orders (each with its items) and their reviews, kept
 * in memory. It stands in for a database, and like a database's driver it counts the queries run
 * against it, because that count is what lessons 08 and 09 compare: how many round trips to the
 * data a screen costs over REST, over GraphQL, and over GraphQL with DataLoader.
 *
 * Every method is one query, however many rows it returns; a method that takes a list of ids
 * (`getUsers`, `ordersOfUsers`, `reviewsOfUsers`) is one query for the whole list, as
 * `WHERE user_id IN (...)` is. What a method returns is a copy: change it and the store is not
 * changed.
 *
 * The data is the same on every run: users 101 to 140 (user 123 is Ada Lovelace), each with a few
 * orders and reviews, made by a seeded generator so that tests and benches see the same screens.
 */
import { seededRandom } from "#shared/random.ts";

export interface User {
  id: string;
  name: string;
  email: string;
}

/** What a client sends to create or replace a user: a user without its id. */
export interface UserInput {
  name: string;
  email: string;
}

export interface OrderItem {
  productName: string;
  quantity: number;
}

export interface Order {
  id: string;
  userId: string;
  /** When the order was placed, as an ISO 8601 timestamp; a user's orders are in this order. */
  placedAt: string;
  /** The order's total in euros, to the cent. */
  total: number;
  items: OrderItem[];
}

export interface Review {
  id: string;
  userId: string;
  /** 1 to 5. */
  rating: number;
  comment: string;
}

export interface ReviewInput {
  rating: number;
  comment: string;
}

export type StoreErrorCode = "STORE_EMAIL_TAKEN" | "STORE_NO_SUCH_USER";

/** What the store refuses: a taken email, or a write for a user it does not have. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

export interface StoreOptions {
  /**
   * Called with each query's name before it runs. A test throws from it to see what an API does
   * with an unexpected failure (a database that went away); a bench counts with it.
   */
  onQuery?: (name: QueryName) => void;
}

export type QueryName =
  | "listUsers"
  | "getUser"
  | "getUsers"
  | "findUserByEmail"
  | "createUser"
  | "replaceUser"
  | "deleteUser"
  | "ordersOf"
  | "ordersOfUsers"
  | "reviewsOf"
  | "reviewsOfUsers"
  | "addReview";

export interface Store {
  /** How many queries have run since the store was made or `resetQueries()` was called. */
  readonly queryCount: number;
  /** The names of those queries, in the order they ran. */
  readonly queryLog: readonly QueryName[];
  resetQueries(): void;

  /** Users in id order, those after the id `after` (all when it is undefined), at most `limit`. */
  listUsers(page: { after?: string | undefined; limit: number }): User[];
  getUser(id: string): User | undefined;
  /** The users with these ids, in the same order, `undefined` for an id it does not have. */
  getUsers(ids: readonly string[]): (User | undefined)[];
  findUserByEmail(email: string): User | undefined;
  /** Throws StoreError STORE_EMAIL_TAKEN when another user has the email. */
  createUser(input: UserInput): User;
  /** The user as replaced, or undefined when there is none. Throws STORE_EMAIL_TAKEN as above. */
  replaceUser(id: string, input: UserInput): User | undefined;
  /** True when there was such a user; its orders and reviews go with it. */
  deleteUser(id: string): boolean;

  /** A user's orders, oldest first; with `last`, only the most recent `last` of them. */
  ordersOf(userId: string, options?: { last?: number | undefined }): Order[];
  /** The orders of each user, in the order of `userIds`: one query for all of them. */
  ordersOfUsers(userIds: readonly string[], options?: { last?: number | undefined }): Order[][];
  reviewsOf(userId: string): Review[];
  /** The reviews of each user, in the order of `userIds`: one query for all of them. */
  reviewsOfUsers(userIds: readonly string[]): Review[][];
  /** Throws StoreError STORE_NO_SUCH_USER when there is no such user. */
  addReview(userId: string, input: ReviewInput): Review;
}

const FIRST_NAMES = [
  "Grace",
  "Alan",
  "Barbara",
  "Edsger",
  "Frances",
  "Donald",
  "Radia",
  "Ken",
  "Margaret",
  "Dennis",
  "Sophie",
  "Tim",
  "Hedy",
  "Linus",
  "Katherine",
  "Vint",
];
const LAST_NAMES = [
  "Hopper",
  "Turing",
  "Liskov",
  "Dijkstra",
  "Allen",
  "Knuth",
  "Perlman",
  "Thompson",
  "Hamilton",
  "Ritchie",
  "Wilson",
  "Berners-Lee",
  "Lamarr",
  "Torvalds",
  "Johnson",
  "Cerf",
];
const PRODUCTS: readonly (readonly [name: string, cents: number])[] = [
  ["Mechanical keyboard", 8900],
  ["USB-C cable", 1299],
  ["Monitor stand", 3450],
  ["Noise-cancelling headphones", 19900],
  ["Notebook, squared", 450],
  ["Desk lamp", 2999],
  ["Webcam", 5900],
  ["Coffee beans, 1 kg", 2400],
];
const COMMENTS = [
  "Arrived a day early.",
  "Does what it says.",
  "Good value for the price.",
  "The box was damaged but the contents were fine.",
  "Would buy again.",
  "Not what the photos suggested.",
];

interface Tables {
  users: Map<string, User>;
  orders: Map<string, Order[]>;
  reviews: Map<string, Review[]>;
  nextUserId: number;
  nextOrderId: number;
  nextReviewId: number;
}

function seedTables(): Tables {
  const random = seededRandom(2026);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const tables: Tables = {
    users: new Map(),
    orders: new Map(),
    reviews: new Map(),
    nextUserId: 141,
    nextOrderId: 5001,
    nextReviewId: 9001,
  };
  let day = Date.UTC(2026, 0, 5);
  for (let n = 101; n <= 140; n++) {
    const id = String(n);
    const [first, last] = n === 123 ? ["Ada", "Lovelace"] : [pick(FIRST_NAMES), pick(LAST_NAMES)];
    const email = `${first}.${last}.${id}@example.com`.toLowerCase();
    tables.users.set(id, { id, name: `${first} ${last}`, email });

    // User 123 has the screen the lessons measure: more orders than the five it shows.
    const orderCount = n === 123 ? 8 : Math.floor(random() * 7);
    const orders: Order[] = [];
    for (let o = 0; o < orderCount; o++) {
      day += Math.floor(random() * 3 + 1) * 86_400_000;
      const items: OrderItem[] = [];
      let cents = 0;
      const itemCount = 1 + Math.floor(random() * 3);
      for (let i = 0; i < itemCount; i++) {
        const [productName, price] = pick(PRODUCTS);
        const quantity = 1 + Math.floor(random() * 3);
        items.push({ productName, quantity });
        cents += price * quantity;
      }
      orders.push({
        id: String(tables.nextOrderId++),
        userId: id,
        placedAt: new Date(day).toISOString(),
        total: cents / 100,
        items,
      });
    }
    tables.orders.set(id, orders);

    const reviewCount = n === 123 ? 3 : Math.floor(random() * 4);
    const reviews: Review[] = [];
    for (let r = 0; r < reviewCount; r++) {
      reviews.push({
        id: String(tables.nextReviewId++),
        userId: id,
        rating: 1 + Math.floor(random() * 5),
        comment: pick(COMMENTS),
      });
    }
    tables.reviews.set(id, reviews);
  }
  return tables;
}

const copy = <T>(value: T): T => structuredClone(value);

function lastOf<T>(list: readonly T[], last: number | undefined): T[] {
  return last === undefined ? [...list] : list.slice(Math.max(0, list.length - last));
}

/** A fresh store with the course's data set: each call gets its own copy, so tests do not meet. */
export function createStore(options: StoreOptions = {}): Store {
  const tables = seedTables();
  const log: QueryName[] = [];
  const query = (name: QueryName): void => {
    log.push(name);
    options.onQuery?.(name);
  };
  const emailTaken = (email: string, except?: string): boolean => {
    for (const user of tables.users.values()) {
      if (user.email === email && user.id !== except) return true;
    }
    return false;
  };

  return {
    get queryCount() {
      return log.length;
    },
    get queryLog() {
      return [...log];
    },
    resetQueries() {
      log.length = 0;
    },

    listUsers({ after, limit }) {
      query("listUsers");
      const ids = [...tables.users.keys()].sort((a, b) => Number(a) - Number(b));
      const start = after === undefined ? 0 : ids.findIndex((id) => Number(id) > Number(after));
      if (start === -1) return [];
      return ids.slice(start, start + limit).map((id) => copy(tables.users.get(id) as User));
    },
    getUser(id) {
      query("getUser");
      const user = tables.users.get(id);
      return user && copy(user);
    },
    getUsers(ids) {
      query("getUsers");
      return ids.map((id) => {
        const user = tables.users.get(id);
        return user && copy(user);
      });
    },
    findUserByEmail(email) {
      query("findUserByEmail");
      for (const user of tables.users.values()) if (user.email === email) return copy(user);
      return undefined;
    },
    createUser(input) {
      query("createUser");
      if (emailTaken(input.email)) {
        throw new StoreError("STORE_EMAIL_TAKEN", `Email ${JSON.stringify(input.email)} is taken`);
      }
      const user: User = { id: String(tables.nextUserId++), name: input.name, email: input.email };
      tables.users.set(user.id, user);
      tables.orders.set(user.id, []);
      tables.reviews.set(user.id, []);
      return copy(user);
    },
    replaceUser(id, input) {
      query("replaceUser");
      if (!tables.users.has(id)) return undefined;
      if (emailTaken(input.email, id)) {
        throw new StoreError("STORE_EMAIL_TAKEN", `Email ${JSON.stringify(input.email)} is taken`);
      }
      const user: User = { id, name: input.name, email: input.email };
      tables.users.set(id, user);
      return copy(user);
    },
    deleteUser(id) {
      query("deleteUser");
      tables.orders.delete(id);
      tables.reviews.delete(id);
      return tables.users.delete(id);
    },

    ordersOf(userId, { last } = {}) {
      query("ordersOf");
      return copy(lastOf(tables.orders.get(userId) ?? [], last));
    },
    ordersOfUsers(userIds, { last } = {}) {
      query("ordersOfUsers");
      return userIds.map((id) => copy(lastOf(tables.orders.get(id) ?? [], last)));
    },
    reviewsOf(userId) {
      query("reviewsOf");
      return copy(tables.reviews.get(userId) ?? []);
    },
    reviewsOfUsers(userIds) {
      query("reviewsOfUsers");
      return userIds.map((id) => copy(tables.reviews.get(id) ?? []));
    },
    addReview(userId, input) {
      query("addReview");
      const reviews = tables.reviews.get(userId);
      if (!tables.users.has(userId) || !reviews) {
        throw new StoreError("STORE_NO_SUCH_USER", `No user ${JSON.stringify(userId)}`);
      }
      const review: Review = { id: String(tables.nextReviewId++), userId, ...input };
      reviews.push(review);
      return copy(review);
    },
  };
}
