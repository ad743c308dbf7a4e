import { describe, expect, test } from "vitest";
import { createLoaders } from "#lesson/lesson-09-graphql/loaders.ts";
import type { QueryName } from "#reference/lesson-08-rest/store.ts";
import { within } from "../../shared/testing/patience.ts";
import { freshStore, run, shown } from "./schema-helpers.ts";

/** The screen both lessons measure, for a whole list: users with their orders and reviews. */
const SCREEN = `
  query Screen($first: Int) {
    users(first: $first) {
      edges {
        node {
          id
          name
          orders { id total items { productName quantity } }
          reviews { rating comment }
        }
      }
    }
  }
`;

/** "listUsers, ordersOf x20, reviewsOf x20": a query log, counted, for a failure message. */
function counted(log: readonly QueryName[]): string {
  const counts = new Map<QueryName, number>();
  for (const name of log) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n === 1 ? name : `${name} x${n}`)).join(", ") || "nothing";
}

/**
 * The same, for a request with loaders, with what the log shows. One-key queries on this store
 * and no batch query: the loaders reached this store, and asked it once per key. No query of
 * either kind: loaders made over another store, earlier, answered instead.
 */
function tally(log: readonly QueryName[]): string {
  const batched = log.some((name) => name.endsWith("Users") && name !== "listUsers");
  if (batched) return counted(log);
  const perKey = [...new Set(log.filter((name) => ONE_KEY.has(name)))];
  return perKey.length > 0
    ? `${counted(log)} (no batch query: this request's store was asked once per key, with ` +
        `${perKey.join(" and ")}; a resolver that skips its loader, or a batch function that ` +
        `calls ${perKey.join(" or ")} for each key, is N+1 again: a batch function makes one ` +
        `getUsers, ordersOfUsers or reviewsOfUsers for all its keys)`
    : `${counted(log)} (no batch query on this request's store: loaders kept from an earlier ` +
        `createLoaders() call query that call's store, and answer from its cache)`;
}

/** The store's queries of one user each, which a batch function turns into one for many. */
const ONE_KEY: ReadonlySet<QueryName> = new Set(["getUser", "ordersOf", "reviewsOf"]);

describe("Step 2: N+1 queries, and DataLoader", () => {
  describe("the query count", () => {
    test("20 users with their orders and reviews, without loaders, is 1 + 20 + 20 = 41 store queries", async () => {
      const store = freshStore();
      const result = await run(SCREEN, { store, variables: { first: 20 } });
      expect(result.errors, shown(result)).toBeUndefined();
      expect(
        store.queryCount,
        `one query for the list, then one per user for orders and one per user for reviews: ` +
          `the N+1 problem. Your resolvers made: ${counted(store.queryLog)}`,
      ).toBe(41);
    });

    test.each([5, 20, 40])(
      "%i users with their orders and reviews, with loaders, is 3 store queries, and the same answer",
      async (first) => {
        const store = freshStore();
        const without = await run(SCREEN, { store, variables: { first } });
        store.resetQueries();
        const withLoaders = await run(SCREEN, { store, variables: { first }, loaders: "fresh" });
        expect(withLoaders.errors, shown(withLoaders)).toBeUndefined();
        expect(
          [...store.queryLog].sort(),
          `with ctx.loaders, User.orders and User.reviews load through them: one listUsers, one ` +
            `ordersOfUsers and one reviewsOfUsers for all ${first} users. Yours made: ` +
            `${tally(store.queryLog)}`,
        ).toEqual(["listUsers", "ordersOfUsers", "reviewsOfUsers"]);
        expect(withLoaders.data, "the loaders change the queries, not the answer").toEqual(
          without.data,
        );
      },
    );

    test("the authors of every review of 20 users are one batch of users", async () => {
      const store = freshStore();
      const query = `{ users(first: 20) { edges { node { reviews { comment author { id name } } } } } }`;
      const without = await run(query, { store });
      expect(without.errors, shown(without)).toBeUndefined();
      const reviews = store.reviewsOfUsers(store.listUsers({ limit: 20 }).map((u) => u.id)).flat();
      store.resetQueries();
      const withLoaders = await run(query, { store, loaders: "fresh" });
      expect(withLoaders.errors, shown(withLoaders)).toBeUndefined();
      expect(
        [...store.queryLog].sort(),
        `with ctx.loaders, Review.author loads through the user loader: the writers of all ` +
          `${reviews.length} reviews are one getUsers. Yours made: ${tally(store.queryLog)}`,
      ).toEqual(["getUsers", "listUsers", "reviewsOfUsers"]);
      expect(withLoaders.data, "the loaders change the queries, not the answer").toEqual(
        without.data,
      );
    });

    test("orders(last:) with a different last on each user is still one batch, each user keeping its own last", async () => {
      const store = freshStore();
      const expected = {
        a: { orders: store.ordersOf("123", { last: 2 }).map(({ id }) => ({ id })) },
        b: { orders: store.ordersOf("124", { last: 5 }).map(({ id }) => ({ id })) },
        c: { orders: store.ordersOf("125").map(({ id }) => ({ id })) },
      };
      store.resetQueries();
      const result = await run(
        `{
          a: user(id: "123") { orders(last: 2) { id } }
          b: user(id: "124") { orders(last: 5) { id } }
          c: user(id: "125") { orders { id } }
        }`,
        { store, loaders: "fresh" },
      );
      expect(result.data, shown(result)).toEqual(expected);
      expect(
        [...store.queryLog].sort(),
        `three users, three different lasts: one getUsers and one ordersOfUsers. A loader keyed ` +
          `by the user and last together makes a batch per last. Yours made: ${tally(store.queryLog)}`,
      ).toEqual(["getUsers", "ordersOfUsers"]);
    });

    test.each([5, 1, 0, 20, null])(
      "orders(last: %s) through the loaders is what it is without them",
      async (last) => {
        const store = freshStore();
        const query = `query Orders($last: Int) { user(id: "123") { orders(last: $last) { id } } }`;
        const result = await run(query, { store, variables: { last }, loaders: "fresh" });
        const expected = freshStore()
          .ordersOf("123", last === null ? {} : { last })
          .map((o) => o.id);
        expect(
          result.data?.user?.orders?.map((o: { id: string }) => o.id),
          `user 123 has 8 orders (${freshStore()
            .ordersOf("123")
            .map((o) => o.id)}): the last ${last} ` +
            `of them are ${JSON.stringify(expected)}, with loaders as in Step 1 without them` +
            (last === 0 ? ` (list.slice(-0) is the whole list, not none of it)` : ``) +
            `\n${shown(result)}`,
        ).toEqual(expected);
      },
    );

    test("two orders fields with different lasts on every user of a list are one batch", async () => {
      const store = freshStore();
      const result = await run(
        `{ users(first: 10) { edges { node { recent: orders(last: 1) { id } all: orders { id } } } } }`,
        { store, loaders: "fresh" },
      );
      const nodes = result.data?.users?.edges?.map((e: { node: unknown }) => e.node);
      expect(nodes?.[0], shown(result)).toEqual({
        recent: freshStore()
          .ordersOf("101", { last: 1 })
          .map(({ id }) => ({ id })),
        all: freshStore()
          .ordersOf("101")
          .map(({ id }) => ({ id })),
      });
      expect([...store.queryLog].sort(), tally(store.queryLog)).toEqual([
        "listUsers",
        "ordersOfUsers",
      ]);
    });

    test("the same user asked for twice in one request is loaded once", async () => {
      const store = freshStore();
      const result = await run(`{ a: user(id: "123") { name } b: user(id: "123") { email } }`, {
        store,
        loaders: "fresh",
      });
      expect(result.errors, shown(result)).toBeUndefined();
      expect(
        store.queryLog,
        `Query.user loads through the user loader, which keeps what it loaded for the request: ` +
          tally(store.queryLog),
      ).toEqual(["getUsers"]);
    });
  });

  describe("the batch functions", () => {
    test("the user loader answers one result per key, in the keys' order, null for a missing user", async () => {
      const store = freshStore();
      const loaders = createLoaders(store);
      const users = await within(
        loaders.user.loadMany(["140", "999", "101"]),
        "the three users from the user loader",
      );
      expect(
        users.map((u) => (u instanceof Error ? u.message : (u?.id ?? null))),
        `DataLoader gives the batch function's i-th result to the i-th key: a result left out ` +
          `shifts every one after it to the wrong user`,
      ).toEqual(["140", null, "101"]);
      expect(store.queryLog, `three keys, one query: ${tally(store.queryLog)}`).toEqual([
        "getUsers",
      ]);
    });

    test("the orders and reviews loaders answer in the keys' order, an empty list for a user with none", async () => {
      const store = freshStore();
      const keys = ["130", "123", "999", "101"];
      const orders = keys.map((id) => store.ordersOf(id));
      const reviews = keys.map((id) => store.reviewsOf(id));
      store.resetQueries();
      const loaders = createLoaders(store);
      const [gotOrders, gotReviews] = await within(
        Promise.all([loaders.ordersByUser.loadMany(keys), loaders.reviewsByUser.loadMany(keys)]),
        "the orders and reviews of four users from the loaders",
      );
      expect(gotOrders, `the orders of users ${keys.join(", ")}, in that order`).toEqual(orders);
      expect(gotReviews, `the reviews of users ${keys.join(", ")}, in that order`).toEqual(reviews);
      expect([...store.queryLog].sort(), tally(store.queryLog)).toEqual([
        "ordersOfUsers",
        "reviewsOfUsers",
      ]);
    });

    test("a missing user in a batch is null, and the users beside it are still themselves", async () => {
      const result = await run(
        `{ a: user(id: "101") { id } b: user(id: "999") { id } c: user(id: "102") { id } }`,
        { store: freshStore(), loaders: "fresh" },
      );
      expect(result, shown(result)).toEqual({
        data: { a: { id: "101" }, b: null, c: { id: "102" } },
      });
    });
  });

  describe("loaders per request", () => {
    test("loaders shared by two requests answer the second from their cache: a write between them is not seen", async () => {
      const store = freshStore();
      const shared = createLoaders(store);
      const query = `{ user(id: "123") { reviews { rating } } }`;
      const before = await run(query, { store, loaders: shared });
      const write = await run(
        `mutation { addReview(userId: "123", input: { rating: 5, comment: "Later" }) { id } }`,
        { store, loaders: "fresh" },
      );
      expect(write.errors, shown(write)).toBeUndefined();
      const after = await run(query, { store, loaders: shared });
      expect(before.data.user.reviews).toHaveLength(3);
      expect(
        after.data.user.reviews,
        "this is why loaders are made per request: the shared one still has the 3 reviews it " +
          "loaded before the write",
      ).toHaveLength(3);
    });

    test("with new loaders for each request, a request after a write sees it", async () => {
      const store = freshStore();
      const query = `{ user(id: "123") { name reviews { rating } } }`;
      const before = await run(query, { store, loaders: "fresh" });
      await run(
        `mutation { addReview(userId: "123", input: { rating: 5, comment: "Later" }) { id } }`,
        { store, loaders: "fresh" },
      );
      store.replaceUser("123", { name: "Ada King", email: "ada.lovelace.123@example.com" });
      const after = await run(query, { store, loaders: "fresh" });
      expect(before.data?.user?.reviews, shown(before)).toHaveLength(3);
      expect(
        after.data?.user,
        `createLoaders(store) must make new loaders each time it is called: loaders made once ` +
          `(at module level) answer every request from the first one's cache\n${shown(after)}`,
      ).toMatchObject({ name: "Ada King", reviews: { length: 4 } });
    });

    test("loaders over two stores each read their own store", async () => {
      const one = freshStore();
      const two = freshStore();
      two.replaceUser("123", { name: "Ada King", email: "ada.lovelace.123@example.com" });
      const query = `{ user(id: "123") { name } }`;
      const a = await run(query, { store: one, loaders: "fresh" });
      const b = await run(query, { store: two, loaders: "fresh" });
      expect(
        [a.data?.user?.name, b.data?.user?.name],
        `each call's loaders query the store they were made with; loaders kept from an earlier ` +
          `call leak its store's data\n${shown(a)}\n${shown(b)}`,
      ).toEqual(["Ada Lovelace", "Ada King"]);
    });
  });
});
