import { describe, expect, test } from "vitest";
import type { Store } from "#reference/lesson-08-rest/store.ts";
import { codes, fieldOf, freshStore, run, sdlOf, shown, type Result } from "./schema-helpers.ts";

const PAGE = `
  query Page($first: Int, $after: String) {
    users(first: $first, after: $after) {
      edges { cursor node { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

interface Page {
  ids: string[];
  cursors: string[];
  hasNextPage: boolean;
  endCursor: string | null;
}

async function page(store: Store, first: number, after?: string | null): Promise<Page> {
  const result: Result = await run(PAGE, { store, variables: { first, after } });
  const users = result.data?.users;
  if (!users)
    throw new Error(`users(first: ${first}, after: ${after}) gave no page:\n${shown(result)}`);
  const edges = users.edges as { cursor: string; node: { id: string } }[];
  return {
    ids: edges.map((e) => e.node.id),
    cursors: edges.map((e) => e.cursor),
    hasNextPage: users.pageInfo.hasNextPage,
    endCursor: users.pageInfo.endCursor,
  };
}

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe("Step 1: The schema and its resolvers", () => {
  describe("the users connection", () => {
    test.each([
      ["Query", "users", "UserConnection!", ["first: Int", "after: String"]],
      ["UserConnection", "edges", "[UserEdge!]!", []],
      ["UserConnection", "pageInfo", "PageInfo!", []],
      ["UserEdge", "cursor", "String!", []],
      ["UserEdge", "node", "User!", []],
      ["PageInfo", "hasNextPage", "Boolean!", []],
      ["PageInfo", "endCursor", "String", []],
    ])("%s.%s is %s", (typeName, fieldName, type, args) => {
      expect(
        fieldOf(typeName, fieldName),
        `${typeName}.${fieldName}${args.length ? `(${args.join(", ")})` : ""}: ${type} is not ` +
          `in your schema (endCursor is null on an empty page):\n${sdlOf(typeName)}`,
      ).toEqual({ type, args });
    });

    test("the first page is the first users in id order, each edge with a cursor, and says there is more", async () => {
      const first = await page(freshStore(), 10);
      expect(first.ids, "users 101 to 110").toEqual(range(101, 110));
      expect(new Set(first.cursors).size, "a cursor per edge, each its own").toBe(10);
      expect(first.hasNextPage, "users 111 to 140 are still to come").toBe(true);
      expect(first.endCursor, "endCursor is the cursor of the page's last edge").toBe(
        first.cursors.at(-1),
      );
    });

    test("first left out is 20 users", async () => {
      const result = await run(`{ users { edges { node { id } } } }`, { store: freshStore() });
      expect(result.data?.users?.edges, shown(result)).toHaveLength(20);
    });

    test("following endCursor page by page gives every user once, in order, and the last page says it is the last", async () => {
      const store = freshStore();
      const seen: string[] = [];
      const pages: Page[] = [];
      let after: string | null = null;
      for (let n = 0; n < 10; n++) {
        const next = await page(store, 7, after);
        pages.push(next);
        seen.push(...next.ids);
        if (!next.hasNextPage) break;
        after = next.endCursor;
      }
      expect(seen, "40 users in pages of 7: 101 to 140, none skipped, none twice").toEqual(
        range(101, 140),
      );
      expect(
        pages.map((p) => p.hasNextPage),
        "hasNextPage is true on each page but the sixth, the last (140 is on it)",
      ).toEqual([true, true, true, true, true, false]);
    });

    test("a last page exactly full has hasNextPage false", async () => {
      const store = freshStore();
      const one = await page(store, 20);
      const two = await page(store, 20, one.endCursor);
      expect(two.ids, "users 121 to 140").toEqual(range(121, 140));
      expect(
        two.hasNextPage,
        "the second page of 20 ends at user 140, the last one: a full page is not proof of a next " +
          "one (ask the store for one more than first, and see whether it comes)",
      ).toBe(false);
    });

    test("after the last user, the page is empty and its endCursor null", async () => {
      const store = freshStore();
      const all = await page(store, 40);
      const after = await page(store, 5, all.endCursor);
      expect(after, "nothing after user 140").toEqual({
        ids: [],
        cursors: [],
        hasNextPage: false,
        endCursor: null,
      });
    });

    test("a cursor names a user, not a position: a user deleted before it does not shift the next page", async () => {
      const store = freshStore();
      const one = await page(store, 10);
      store.deleteUser("103"); // another client deletes a user the first page showed
      const two = await page(store, 10, one.endCursor);
      expect(
        two.ids,
        "the page after user 110 starts at 111, whatever happened before it; a cursor that is an " +
          "offset (10) now points past user 111, and skips it",
      ).toEqual(range(111, 120));
    });

    test("a user created while a client pages through comes at the end, on the last page", async () => {
      const store = freshStore();
      const one = await page(store, 30);
      store.createUser({ name: "Late Comer", email: "late@example.com" });
      const two = await page(store, 30, one.endCursor);
      expect(two.ids, "users 131 to 141 (the new one is 141)").toEqual(range(131, 141));
      expect(two.hasNextPage).toBe(false);
    });

    test.each([0, -1, 101])(
      "users(first: %i) is refused with BAD_USER_INPUT, at the path of users",
      async (first) => {
        const result = await run(PAGE, { store: freshStore(), variables: { first } });
        expect(
          codes(result),
          `first is 1 to 100: a page of ${first} is the client's mistake, an error with ` +
            `extensions.code "BAD_USER_INPUT"\n${shown(result)}`,
        ).toEqual(["BAD_USER_INPUT"]);
        expect(result.errors?.[0]?.path).toEqual(["users"]);
        expect(
          result.data,
          "users is non-null (UserConnection!), so its null goes up to the whole data",
        ).toBeNull();
      },
    );

    test("an after that is not a cursor is refused with BAD_USER_INPUT", async () => {
      const result = await run(PAGE, {
        store: freshStore(),
        variables: { first: 5, after: "not a cursor" },
      });
      expect(
        codes(result),
        `a cursor your server did not make is the client's mistake: extensions.code ` +
          `"BAD_USER_INPUT"\n${shown(result)}`,
      ).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors?.[0]?.path).toEqual(["users"]);
    });
  });
});
