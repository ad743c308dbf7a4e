import { describe, expect, test } from "vitest";
import { codes, fieldOf, freshStore, run, sdlOf, shown } from "./schema-helpers.ts";

const ADA = `
  query Ada($last: Int) {
    user(id: "123") {
      id
      name
      email
      orders(last: $last) { id total items { productName quantity } }
      reviews { rating comment }
    }
  }
`;

describe("Step 1: The schema and its resolvers", () => {
  describe("the SDL", () => {
    test.each([
      ["Query", "user", "User", ["id: ID!"], "null is the answer for an id with no user"],
      ["User", "id", "ID!", [], ""],
      ["User", "name", "String!", [], ""],
      ["User", "email", "String!", [], ""],
      ["User", "orders", "[Order!]!", ["last: Int"], "a user without orders has an empty list"],
      ["User", "reviews", "[Review!]!", [], ""],
      ["Order", "id", "ID!", [], ""],
      ["Order", "total", "Float!", [], "euros to the cent are not a whole number"],
      ["Order", "items", "[OrderItem!]!", [], ""],
      ["OrderItem", "productName", "String!", [], ""],
      ["OrderItem", "quantity", "Int!", [], ""],
      ["Review", "rating", "Int!", [], ""],
      ["Review", "comment", "String!", [], ""],
      ["Review", "author", "User!", [], "every review has the user who wrote it"],
    ])("%s.%s is %s", (typeName, fieldName, type, args, why) => {
      const field = fieldOf(typeName, fieldName);
      expect(
        field,
        `${typeName}.${fieldName}${args.length ? `(${args.join(", ")})` : ""}: ${type} ` +
          `${why ? `(${why}) ` : ""}is not in your schema:\n${sdlOf(typeName)}`,
      ).toEqual({ type, args });
    });
  });

  describe("queries", () => {
    test("user(id:) answers the user's name and email, read from the store", async () => {
      const result = await run(`{ user(id: "123") { id name email } }`, { store: freshStore() });
      expect(result, shown(result)).toEqual({
        data: { user: { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" } },
      });
    });

    test("a review's author is the user who wrote it, read from the store by the review's userId", async () => {
      const store = freshStore();
      const result = await run(`{ user(id: "124") { reviews { comment author { id name } } } }`, {
        store,
      });
      const writer = store.getUser("124");
      const expected = store
        .reviewsOf("124")
        .map(({ comment }) => ({ comment, author: { id: "124", name: writer?.name } }));
      expect(
        result,
        `each of user 124's reviews has userId "124": its author is that user\n${shown(result)}`,
      ).toEqual({ data: { user: { reviews: expected } } });
      const deeper = await run(
        `{ user(id: "124") { reviews { author { reviews { author { name } } } } } }`,
        { store },
      );
      expect(
        deeper.data?.user?.reviews?.[0]?.author?.reviews?.[0]?.author,
        `and from the author back to their reviews, and their author again\n${shown(deeper)}`,
      ).toEqual({ name: writer?.name });
    });

    test("a user the store does not have is null, and not an error", async () => {
      const result = await run(`{ user(id: "999") { name } }`, { store: freshStore() });
      expect(
        result,
        `"no such user" is an answer, not a failure: the field is null and errors is absent\n` +
          shown(result),
      ).toEqual({ data: { user: null } });
    });

    test("a user's orders come with their totals and items, and reviews with rating and comment", async () => {
      const store = freshStore();
      const result = await run(ADA, { store });
      const orders = store.ordersOf("123").map(({ id, total, items }) => ({ id, total, items }));
      const reviews = store.reviewsOf("123").map(({ rating, comment }) => ({ rating, comment }));
      expect(result.errors, shown(result)).toBeUndefined();
      expect(result.data.user.orders, "all 8 of user 123's orders, oldest first").toEqual(orders);
      expect(result.data.user.reviews, "user 123's 3 reviews").toEqual(reviews);
    });

    test.each([5, 1, 0, 20])(
      "orders(last: %i) is the most recent ones, oldest first",
      async (last) => {
        const store = freshStore();
        const result = await run(ADA, { store, variables: { last } });
        const expected = store.ordersOf("123", { last }).map((o) => o.id);
        expect(
          result.data?.user?.orders?.map((o: { id: string }) => o.id),
          `user 123 has 8 orders (${store.ordersOf("123").map((o) => o.id)}): the last ${last} ` +
            `of them are ${JSON.stringify(expected)}\n${shown(result)}`,
        ).toEqual(expected);
      },
    );

    test("orders(last: null) is every order, as leaving last out is", async () => {
      const store = freshStore();
      const result = await run(ADA, { store, variables: { last: null } });
      expect(result.data?.user?.orders, shown(result)).toHaveLength(8);
    });

    test("a variable of type ID! takes a number too: ID is a string that may be sent as an int", async () => {
      const result = await run(`query ($id: ID!) { user(id: $id) { name } }`, {
        store: freshStore(),
        variables: { id: 123 },
      });
      expect(
        result,
        `the ID scalar accepts 123 as well as "123" (GraphQL spec §3.5.5); String would refuse it\n` +
          shown(result),
      ).toEqual({ data: { user: { name: "Ada Lovelace" } } });
    });

    test("a missing required variable is a request error: no data at all, nothing resolved", async () => {
      const store = freshStore();
      const result = await run(`query ($id: ID!) { user(id: $id) { name } }`, { store });
      expect(result.data, shown(result)).toBeUndefined();
      expect(result.errors, shown(result)).toHaveLength(1);
      expect(store.queryCount, "variables are coerced before anything executes").toBe(0);
    });
  });

  describe("errors beside the data (GraphQL spec §7.1.2, Errors and Non-Null)", () => {
    test("a nullable field whose resolver fails is null, its error beside it with the path, and the rest is answered", async () => {
      let getUser = 0;
      const store = freshStore({
        onQuery: (name) => {
          if (name === "getUser" && ++getUser === 2) throw new Error("the database went away");
        },
      });
      const result = await run(`{ a: user(id: "101") { id } b: user(id: "102") { id } }`, {
        store,
      });
      expect(
        result.data,
        `the store failed on the second user: b is null, a is still answered\n${shown(result)}`,
      ).toEqual({ a: { id: "101" }, b: null });
      expect(
        result.errors?.map((e) => e.path),
        `one error, with the path of the field that failed\n${shown(result)}`,
      ).toEqual([["b"]]);
    });

    test("a non-null field whose resolver fails makes its nullable parent null", async () => {
      const store = freshStore({
        onQuery: (name) => {
          if (name === "reviewsOf" || name === "reviewsOfUsers")
            throw new Error("no reviews today");
        },
      });
      const result = await run(`{ user(id: "123") { name reviews { rating } } }`, { store });
      expect(
        result,
        `reviews is [Review!]!: it cannot be null, so the null goes up to user, which can be\n` +
          shown(result),
      ).toMatchObject({ data: { user: null }, errors: [{ path: ["user", "reviews"] }] });
    });

    test("orders(last: -1) is refused with BAD_USER_INPUT, and nulls the user", async () => {
      const result = await run(`{ user(id: "123") { name orders(last: -1) { id } } }`, {
        store: freshStore(),
      });
      expect(
        result,
        `the most recent -1 orders are no orders at all: refuse the argument; orders is ` +
          `non-null, so user is null\n${shown(result)}`,
      ).toMatchObject({ data: { user: null }, errors: [{ path: ["user", "orders"] }] });
      expect(codes(result), `extensions.code of the error\n${shown(result)}`).toEqual([
        "BAD_USER_INPUT",
      ]);
    });
  });
});
