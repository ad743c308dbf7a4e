import {
  buildSchema,
  graphql,
  GraphQLError,
  parse,
  specifiedRules,
  Kind,
  validate,
  type DocumentNode,
  type ValidationRule,
} from "graphql";
import { describe, expect, test } from "vitest";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import { createSchema } from "#reference/lesson-09-graphql/schema.ts";
import { costLimit, depthLimit, maskError } from "#lesson/lesson-09-graphql/limits.ts";

// The rules are checked on the reference's schema: what is tested here is the limits, whatever
// state the learner's schema is in.
const schema = createSchema();

/** What validation says of `query` with the spec's rules and `rule`, as `code: message` lines. */
function validated(query: string, rule: ValidationRule): string[] {
  let errors: readonly GraphQLError[];
  try {
    errors = validate(schema, parse(query), [...specifiedRules, rule]);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new Error(
        `Validation never finished (${error.message}): a fragment that spreads itself, directly or ` +
          "through another, must be followed once, not round and round. The query was:\n" +
          query,
        { cause: error },
      );
    }
    throw error;
  }
  return errors.map((e) => `${String(e.extensions.code ?? "(no code)")}: ${e.message}`);
}

/**
 * expect(errors).toEqual([expect.stringContaining(...)]), with the strings wanted written out in
 * the message: a failure's own diff shortens them to StringContaining{…}. `among`: other errors
 * may come beside them.
 */
function expectMessages(
  errors: readonly string[],
  wanted: readonly string[],
  why = "",
  { among = false }: { among?: boolean } = {},
): void {
  const matchers = wanted.map((text) => expect.stringContaining(text));
  const said =
    `${why ? `${why}\n` : ""}expected ${among ? "among the errors " : ""}` +
    `${wanted.map((text) => `one containing ${JSON.stringify(text)}`).join(", and ")}` +
    `${among ? "" : ", and no other"}\n  got: ${JSON.stringify(errors)}`;
  expect(errors, said).toEqual(among ? expect.arrayContaining(matchers) : matchers);
}

/** The errors of one limit: the spec's own rules may report others. */
function limitErrors(query: string, rule: ValidationRule, code: string): string[] {
  return validated(query, rule).filter((line) => line.startsWith(`${code}:`));
}

/**
 * `{ user { ...F0 } }` where each fragment spreads the next one twice, down to F12: 4,096 spreads
 * of F12, and thirteen fragments. Each fragment's selectionSet is a getter that counts how many
 * times a walk opened it.
 */
function fragmentTree(): { document: DocumentNode; opened: Map<string, number> } {
  const levels = 12;
  const fragments = Array.from(
    { length: levels },
    (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`,
  );
  const document = parse(
    `{ user(id: "123") { ...F0 } } ${fragments.join(" ")} fragment F${levels} on User { name }`,
  );
  const opened = new Map<string, number>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const name = definition.name.value;
    const selectionSet = definition.selectionSet;
    opened.set(name, 0);
    Object.defineProperty(definition, "selectionSet", {
      get: () => {
        opened.set(name, (opened.get(name) ?? 0) + 1);
        return selectionSet;
      },
    });
  }
  return { document, opened };
}

const USERS_SCREEN = /* GraphQL */ `
  {
    users(first: 20) {
      edges {
        node {
          name
          orders {
            id
            total
            items {
              productName
              quantity
            }
          }
          reviews {
            rating
            comment
          }
        }
      }
    }
  }
`; // users > edges > node > orders > items > productName: depth 6

describe("Step 5: Limits, and the server you ship", () => {
  describe("depthLimit", () => {
    test("a query nested deeper than the limit is refused, the error naming its depth and the limit", () => {
      const errors = limitErrors(USERS_SCREEN, depthLimit(5), "DEPTH_LIMIT_EXCEEDED");
      expect(
        errors,
        "one DEPTH_LIMIT_EXCEEDED error for the operation; users > edges > node > orders > items > productName is 6 fields deep",
      ).toHaveLength(1);
      expect(errors[0]).toContain("depth 6 exceeds the limit of 5");
    });

    test("a query exactly as deep as the limit passes", () => {
      expect(
        validated(USERS_SCREEN, depthLimit(6)),
        "depth 6 is within a limit of 6: only deeper is refused",
      ).toEqual([]);
      expect(validated(`{ user(id: "123") { name } }`, depthLimit(2))).toEqual([]);
    });

    test("the fields of a fragment count at the depth where it is spread", () => {
      const query = /* GraphQL */ `
        {
          users {
            ...Page
          }
        }
        fragment Page on UserConnection {
          edges {
            node {
              ...Person
            }
          }
        }
        fragment Person on User {
          ... on User {
            orders {
              items {
                productName
              }
            }
          }
        }
      `;
      expectMessages(
        limitErrors(query, depthLimit(5), "DEPTH_LIMIT_EXCEEDED"),
        ["depth 6 exceeds the limit of 5"],
        "a spread is its fragment's fields written in place: users > edges > node > orders > items > productName is depth 6, however it is split into fragments",
      );
    });

    test("a fragment that spreads itself is the spec's error, and the depth is still measured", () => {
      const query = /* GraphQL */ `
        {
          user(id: "123") {
            ...A
          }
        }
        fragment A on User {
          name
          orders {
            ...B
          }
        }
        fragment B on Order {
          items {
            productName
          }
          ...C
        }
        fragment C on Order {
          ...B
        }
      `;
      const errors = validated(query, depthLimit(2));
      expectMessages(
        errors,
        ['Cannot spread fragment "B" within itself', "depth 4 exceeds the limit of 2"],
        "NoFragmentCyclesRule (spec §5.5.2.2) reports the cycle; the limit reports the depth it found (user > orders > items > productName), following each fragment once",
        { among: true },
      );
    });

    test("every operation of a document is measured", () => {
      const query = /* GraphQL */ `
        query Small {
          user(id: "123") {
            name
          }
        }
        query Deep {
          user(id: "123") {
            orders {
              items {
                productName
              }
            }
          }
        }
      `;
      const errors = limitErrors(query, depthLimit(3), "DEPTH_LIMIT_EXCEEDED");
      expectMessages(errors, ["depth 4 exceeds the limit of 3"]);
      expect(
        errors[0],
        'the error names the operation it is about, in double quotes: DEPTH_LIMIT_EXCEEDED: Query "Deep": depth 4 exceeds the limit of 3',
      ).toContain('"Deep"');
    });
    test("each fragment is walked once, however many times it is spread", () => {
      const { document, opened } = fragmentTree();
      const errors = validate(schema, document, [depthLimit(1)]).map((e) => e.message);
      expectMessages(
        errors,
        ["depth 2 exceeds the limit of 1"],
        "user > name is depth 2, spread through thirteen fragments",
      );
      expect(
        Math.max(...opened.values()),
        `F0 spreads F1 twice, F1 spreads F2 twice, and so on: F12 is spread 4,096 times. Keep each fragment's depth once you have it, and twelve levels of spreads are thirteen walks, not 8,191 (how often each fragment's selections were read: ${JSON.stringify(Object.fromEntries(opened))})`,
      ).toBeLessThanOrEqual(4);
    });
  });

  describe("costLimit", () => {
    test("a list's fields count as many times as its first or last asks for", () => {
      // users 1 + edges (1 + 100 × (node 1 + name 1)) = 202
      const hundred = `{ users(first: 100) { edges { node { name } } } }`;
      expectMessages(
        limitErrors(hundred, costLimit(100), "COST_LIMIT_EXCEEDED"),
        ["cost 202 exceeds the limit of 100"],
        "users(first: 100) pages 100 nodes: edges costs 1 + 100 × 2, the query 202",
      );
      expect(validated(`{ users(first: 5) { edges { node { name } } } }`, costLimit(100))).toEqual(
        [],
      );

      // user 1 + orders (1 + 50 × total 1) = 52
      expectMessages(
        limitErrors(
          `{ user(id: "123") { orders(last: 50) { total } } }`,
          costLimit(51),
          "COST_LIMIT_EXCEEDED",
        ),
        ["cost 52 exceeds the limit of 51"],
        "orders(last: 50) is a list of up to 50 orders, whatever listSize says",
      );
      expect(validated(`{ user(id: "123") { orders(last: 5) { total } } }`, costLimit(51))).toEqual(
        [],
      );
    });

    test("a list the query gives no size counts listSize times, and an argument left out its default", () => {
      // user 1 + reviews (1 + 25 × 2) = 52
      const reviews = `{ user(id: "123") { reviews { rating comment } } }`;
      expectMessages(limitErrors(reviews, costLimit(51, { listSize: 25 }), "COST_LIMIT_EXCEEDED"), [
        "cost 52 exceeds the limit of 51",
      ]);
      expect(
        validated(reviews, costLimit(22)),
        "listSize is 10 unless given: 1 + 1 + 10 × 2",
      ).toEqual([]);
      // users takes first: Int = 20: users 1 + edges (1 + 20 × 2) + pageInfo (1 + 1) = 44
      expectMessages(
        limitErrors(
          `{ users { edges { node { name } } pageInfo { hasNextPage } } }`,
          costLimit(43),
          "COST_LIMIT_EXCEEDED",
        ),
        ["cost 44 exceeds the limit of 43"],
        "users without first gets the schema's default, 20; pageInfo is not a list and is counted once",
      );
    });

    test("a first or last given by a variable counts as listSize: validation runs before its value is known", () => {
      // user 1 + orders (1 + 10 × total 1) = 12
      const query = `query Recent($n: Int) { user(id: "123") { orders(last: $n) { total } } }`;
      expectMessages(
        limitErrors(query, costLimit(11), "COST_LIMIT_EXCEEDED"),
        ["cost 12 exceeds the limit of 11"],
        "a document is validated once for any variables (spec §6.1), so $n is a list of unknown size: listSize",
      );
    });

    test("a page of one is a page of one: the lists under it keep their own size", () => {
      // user 1 + orders (1 + 1 × (total 1 + items (1 + 10 × 2))) = 24
      const query = `{ user(id: "123") { orders(last: 1) { total items { productName quantity } } } }`;
      expectMessages(
        limitErrors(query, costLimit(23), "COST_LIMIT_EXCEEDED"),
        ["cost 24 exceeds the limit of 23"],
        "orders(last: 1) is one order, and that order's items are still a list of listSize",
      );
    });

    test("a negative first or last makes nothing cheaper", () => {
      // users alone: 1 + (1 + 100 × 2) = 202, over 100 whatever the other field says.
      const query = `{ a: user(id: "123") { orders(last: -1000000) { total } } users(first: 100) { edges { node { name } } } }`;
      expectMessages(
        limitErrors(query, costLimit(100), "COST_LIMIT_EXCEEDED"),
        ["exceeds the limit of 100"],
        "a size below 0 must count as 0: a negative cost would let any query through beside it",
      );
    });

    test("the arguments are found by name, in any order, and an inline fragment costs its fields", () => {
      const reordered = `{ users(after: "dXNlcjoxMDA", first: 100) { edges { node { name } } } }`;
      expectMessages(limitErrors(reordered, costLimit(100), "COST_LIMIT_EXCEEDED"), [
        "cost 202 exceeds the limit of 100",
      ]);
      // user 1 + (orders 1 + 5 × 1) = 7, written inside `... on User`
      const inline = `{ user(id: "123") { ... on User { orders(last: 5) { total } } } }`;
      expectMessages(limitErrors(inline, costLimit(6), "COST_LIMIT_EXCEEDED"), [
        "cost 7 exceeds the limit of 6",
      ]);
    });

    test("the default of first or last is the schema's, found by the argument's name", () => {
      const paged = buildSchema(`
        type Query { page(after: String, last: Int = 3): [Item!]!, all(first: Int): [Item!]! }
        type Item { name: String! }
      `);
      const cost = (query: string): string[] =>
        validate(paged, parse(query), [...specifiedRules, costLimit(0)]).map((e) => e.message);
      expectMessages(
        cost(`{ page { name } }`),
        ["cost 4 exceeds"],
        "page(last: Int = 3): 1 + 3 × 1",
      );
      expectMessages(
        cost(`{ all { name } }`),
        ["cost 11 exceeds"],
        "all(first: Int) has no default: listSize, 1 + 10 × 1",
      );
    });

    test("introspection fields cost like any other", () => {
      // __schema 1 + (types 1 + 10 × name 1) = 12
      expectMessages(
        limitErrors(`{ __schema { types { name } } }`, costLimit(11), "COST_LIMIT_EXCEEDED"),
        ["cost 12 exceeds the limit of 11"],
        "__schema and __type are fields of the query type too, and their lists are lists",
      );
      // __type 1 + (fields 1 + 10 × (name 1 + type (1 + name 1))) = 32
      expectMessages(
        limitErrors(
          `{ __type(name: "User") { fields { name type { name } } } }`,
          costLimit(31),
          "COST_LIMIT_EXCEEDED",
        ),
        ["cost 32 exceeds the limit of 31"],
      );
    });

    test("each alias of a field costs its own", () => {
      const one = `u0: user(id: "101") { orders(last: 5) { total } }`; // 1 + (1 + 5) = 7
      const ten = `{ ${Array.from({ length: 10 }, (_, i) => one.replace("u0", `u${i}`)).join(" ")} }`;
      expectMessages(
        limitErrors(ten, costLimit(50), "COST_LIMIT_EXCEEDED"),
        ["cost 70 exceeds the limit of 50"],
        "ten aliases are ten fields to resolve: 10 × 7",
      );
      expect(validated(`{ ${one} }`, costLimit(50))).toEqual([]);
    });

    test("a fragment costs its fields each time it is spread, and a cycle does not stop the count", () => {
      const twice = /* GraphQL */ `
        {
          user(id: "123") {
            ...Orders
          }
          other: user(id: "124") {
            ...Orders
          }
        }
        fragment Orders on User {
          orders(last: 5) {
            total
          }
        }
      `; // 2 × (1 + (1 + 5))
      expectMessages(limitErrors(twice, costLimit(13), "COST_LIMIT_EXCEEDED"), [
        "cost 14 exceeds the limit of 13",
      ]);
      const cyclic = /* GraphQL */ `
        {
          users(first: 100) {
            ...A
          }
        }
        fragment A on UserConnection {
          edges {
            node {
              name
            }
          }
          ...B
        }
        fragment B on UserConnection {
          ...A
        }
      `;
      expectMessages(
        validated(cyclic, costLimit(100)),
        ["Cannot spread fragment", "cost 202 exceeds the limit of 100"],
        "the spec's rule reports the cycle; the cost is counted following each fragment once (1 + 1 + 100 × 2)",
        { among: true },
      );
    });

    test("each fragment is walked once, however many times it is spread", () => {
      const { document, opened } = fragmentTree();
      // user 1 + F0, where F12 is name (1) and each fragment above costs twice the one below: 4,096
      const errors = validate(schema, document, [costLimit(4_096)]).map((e) => e.message);
      expectMessages(
        errors,
        ["cost 4097 exceeds the limit of 4096"],
        "1 + 2^12: each spread costs its fragment's fields",
      );
      expect(
        Math.max(...opened.values()),
        `F12 is spread 4,096 times: keep each fragment's cost once you have it (for the page size it was spread under), and twelve levels of spreads are thirteen walks, not 8,191 (how often each fragment's selections were read: ${JSON.stringify(Object.fromEntries(opened))})`,
      ).toBeLessThanOrEqual(4);
    });

    test("a normal screen is within a sensible limit", () => {
      const screen = `{ user(id: "123") { name orders(last: 5) { id total items { productName quantity } } reviews { rating comment } } }`;
      expect(validated(screen, costLimit(1_000))).toEqual([]);
      expect(validated(USERS_SCREEN, costLimit(10_000))).toEqual([]);
    });
  });

  describe("maskError", () => {
    /** The errors of running `query` over a store whose every query throws `failure`. */
    async function errorsWhenStoreFails(
      query: string,
      failure: Error,
    ): Promise<readonly GraphQLError[]> {
      const store = createStore({
        onQuery: () => {
          throw failure;
        },
      });
      const result = await graphql({ schema, source: query, contextValue: { store } });
      expect(result.errors, "the store's failure is an error of the result").toBeDefined();
      return result.errors ?? [];
    }

    test("a resolver's bug reaches the client as Internal server error with an id, and the log gets the bug under that id", async () => {
      const failure = new Error("connect ECONNREFUSED db-7.internal:5432");
      const [error] = await errorsWhenStoreFails(`{ user(id: "123") { name } }`, failure);
      const logged: [unknown, string][] = [];
      const masked = maskError((e, id) => logged.push([e, id]))(error as GraphQLError);

      const seen = JSON.stringify(masked.toJSON());
      expect(masked.message, seen).toBe("Internal server error");
      expect(Object.keys(masked.extensions).sort(), `only a code and an id: ${seen}`).toEqual([
        "code",
        "errorId",
      ]);
      expect(masked.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      expect(typeof masked.extensions.errorId, seen).toBe("string");
      expect(seen, "nothing of the bug's message reaches the client").not.toContain("db-7");
      expect(seen, "no stack frame reaches the client").not.toMatch(/\bat \S+ \(|\.ts:\d+/);
      expect(
        masked.originalError,
        "the masked error carries no cause a later formatter could print",
      ).toBeUndefined();
      expect(masked.path, "where it happened stays: it gives nothing away").toEqual(["user"]);

      expect(logged, "log is called once, with the bug and the id the client got").toHaveLength(1);
      const [original, id] = logged[0] as [unknown, string];
      expect(original, "the log gets the error as it was thrown, stack and all").toBe(failure);
      expect(id).toBe(masked.extensions.errorId);
    });

    test("each bug gets its own id", async () => {
      const [error] = await errorsWhenStoreFails(`{ user(id: "123") { name } }`, new Error("boom"));
      const ids: string[] = [];
      const mask = maskError((_e, id) => ids.push(id));
      const first = mask(error as GraphQLError);
      const second = mask(error as GraphQLError);
      expect(first.extensions.errorId, "an id finds one failure in the log").not.toBe(
        second.extensions.errorId,
      );
      expect(ids).toEqual([first.extensions.errorId, second.extensions.errorId]);
    });

    test("an error a resolver throws on purpose, with its code, passes as it is", async () => {
      const result = await graphql({
        schema,
        source: `{ users(first: 0) { edges { cursor } } }`,
        contextValue: { store: createStore() },
      });
      const [error] = result.errors ?? [];
      expect(error?.extensions.code, "the schema refuses first: 0 with BAD_USER_INPUT").toBe(
        "BAD_USER_INPUT",
      );
      const logged: unknown[] = [];
      const masked = maskError((e) => logged.push(e))(error as GraphQLError);
      expect(
        masked.toJSON(),
        "a GraphQLError thrown on purpose is meant for the client: its message and code tell what to fix",
      ).toEqual((error as GraphQLError).toJSON());
      expect(logged, "it is not a bug, so nothing is logged").toEqual([]);
    });

    test("parse and validation errors pass as they are", () => {
      const [error] = validate(schema, parse(`{ user(id: "123") { password } }`));
      const logged: unknown[] = [];
      const masked = maskError((e) => logged.push(e))(error as GraphQLError);
      expect(masked.message).toBe('Cannot query field "password" on type "User".');
      expect(logged).toEqual([]);
    });
  });
});
