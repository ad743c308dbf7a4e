import { graphql } from "graphql";
import { describe, expect, test } from "vitest";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { listen } from "#shared/testing/net.ts";
import { within } from "#shared/testing/patience.ts";
import { isNotWritten, serverLog, watchServerLog } from "#shared/testing/server-log.ts";
import { run, testWithTool } from "#shared/testing/tools.ts";
import { createSchema } from "#lesson/lesson-09-graphql/schema.ts";
import { createServer, type ServerOptions } from "#lesson/lesson-09-graphql/server.ts";

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
}

interface Served {
  origin: string;
  store: Store;
  /** What the server logged as bugs, with the ids their masked errors named. */
  log: { error: unknown; id: string }[];
  /** POSTs `query` to /graphql and reads the whole reply. */
  post(query: string): Promise<Reply>;
}

interface Reply {
  status: number;
  text: string;
  body: GraphQLBody;
}

/** The learner's createServer() on 127.0.0.1 and a free port, closed when the test ends. */
async function serve(options: ServerOptions = {}): Promise<Served> {
  const store = options.store ?? createStore();
  const log: Served["log"] = [];
  const server = createServer({ log: (error, id) => log.push({ error, id }), ...options, store });
  const { host, port } = await listen(server);
  const origin = `http://${host}:${port}`;
  return {
    origin,
    store,
    log,
    post: (query) =>
      fetchReply(`${origin}/graphql`, log, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/graphql-response+json",
        },
        body: JSON.stringify({ query }),
      }),
  };
}

/** The reply to one request; a stub the server reached (and masked) fails the test by its name. */
async function fetchReply(url: string, log: Served["log"], init: RequestInit = {}): Promise<Reply> {
  const what = `${init.method ?? "GET"} ${url}`;
  const reply = await within(
    (async () => {
      const response = await fetch(url, init);
      return { status: response.status, text: await response.text() };
    })(),
    `an answer to ${what}`,
  );
  const stub = log.map((entry) => entry.error).find(isNotWritten);
  if (stub) throw stub;
  let body: GraphQLBody;
  try {
    body = JSON.parse(reply.text) as GraphQLBody;
  } catch {
    throw new Error(`${what} answered ${reply.status} with a body that is not JSON: ${reply.text}`);
  }
  return { ...reply, body };
}

/** `errors[i].extensions.code: message` of a reply, to compare in one line. */
const errorsOf = (reply: Reply): string[] =>
  (reply.body.errors ?? []).map(
    (e) => `${String(e.extensions?.code ?? "(no code)")}: ${e.message}`,
  );

const USER_NAME = `{ user(id: "123") { name } }`;
const USER_123 = `{ user(id: "123") { name orders(last: 5) { id total items { productName quantity } } reviews { rating comment } } }`;
const TWENTY_USERS = `{ users(first: 20) { edges { node { name orders { id total items { productName quantity } } reviews { rating comment } } } } }`;

/** A refused request: 400 (spec: a request that fails validation), errors, no data, nothing run. */
function expectRefused(reply: Reply, store: Store, code: string, message: string): void {
  expect(
    reply.status,
    `a document that fails parsing or validation is a 400 with application/graphql-response+json: ${reply.text}`,
  ).toBe(400);
  expect(errorsOf(reply), reply.text).toEqual([expect.stringMatching(new RegExp(`^${code}: `))]);
  expect(reply.body.errors?.[0]?.message, reply.text).toContain(message);
  expect(reply.body.data, "a request refused before execution has no data entry").toBeUndefined();
  expect(
    store.queryLog,
    "no resolver may run for a refused query: the limits are validation, which comes before execution",
  ).toEqual([]);
}

describe("Step 5: Limits, and the server you ship", () => {
  describe("the server", () => {
    test("GET /graphql with the query in the query string answers it", async () => {
      const { origin, log } = await serve();
      const query = encodeURIComponent(USER_NAME);
      const reply = await fetchReply(`${origin}/graphql?query=${query}`, log);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toEqual({ data: { user: { name: "Ada Lovelace" } } });
    });

    testWithTool("curl", "install curl")(
      'curl -g "localhost:PORT/graphql?query={user(id:\\"123\\"){name}}" answers the name',
      async () => {
        const { origin } = await serve();
        // -g: curl reads { } in a URL as a glob of its own unless told not to; the braces and
        // quotes then go as they are, and the server's URL parser must take them.
        const url = `${origin}/graphql?query={user(id:"123"){name}}`;
        const { stdout } = await within(
          run("curl", ["-sS", "-g", url]),
          `curl's answer from ${url}`,
        );
        expect(JSON.parse(stdout), stdout).toEqual({ data: { user: { name: "Ada Lovelace" } } });
      },
    );

    test("any other path is 404", async () => {
      const { origin, log } = await serve();
      for (const path of ["/", "/graphiql", "/graphql/extra", "/users/123"]) {
        const reply = await fetchReply(
          `${origin}${path}?query=${encodeURIComponent(USER_NAME)}`,
          log,
        );
        expect(reply.status, `${path}: only /graphql is served`).toBe(404);
      }
    });

    test("each request gets new loaders: what one request loaded does not answer the next", async () => {
      const { store, post } = await serve();
      const reviews = `{ user(id: "123") { reviews { comment } } }`;
      const before = await post(reviews);
      store.addReview("123", { rating: 5, comment: "Written between two requests." });
      const after = await post(reviews);
      const comments = (reply: Reply): unknown =>
        (reply.body.data?.user as { reviews: { comment: string }[] } | undefined)?.reviews.map(
          (r) => r.comment,
        );
      expect(
        comments(after),
        "a loader caches what it loaded; one shared between requests answers with the old reviews",
      ).toEqual([...(comments(before) as string[]), "Written between two requests."]);
    });

    test("dataloader: false resolves each user's orders and reviews with its own query", async () => {
      const without = await serve({ dataloader: false });
      expect((await without.post(TWENTY_USERS)).status).toBe(200);
      const batched = await serve();
      expect((await batched.post(TWENTY_USERS)).status).toBe(200);
      expect(
        [without.store.queryCount, batched.store.queryCount],
        "without loaders: 1 list + 20 orders + 20 reviews; with them: 1 + 1 + 1",
      ).toEqual([41, 3]);
    });
  });

  describe("the limits, before anything runs", () => {
    test("a query deeper than maxDepth is refused, and no resolver ran", async () => {
      const { store, post } = await serve({ maxDepth: 5 });
      expectRefused(
        await post(TWENTY_USERS),
        store,
        "DEPTH_LIMIT_EXCEEDED",
        "depth 6 exceeds the limit of 5",
      );
      const normal = await post(USER_123);
      expect(normal.status, `a query within the limit is answered: ${normal.text}`).toBe(200);
      expect(normal.body.errors).toBeUndefined();
    });

    test("with the default limits, a query that follows reviews back to their authors, deeper than 8, is refused before any store query", async () => {
      // users > edges > node > reviews > author > reviews > author > reviews > author > name: 10
      // deep; its cost is only 2,224 (users(first: 1) is one node), so the depth alone refuses it.
      const deep = `{ users(first: 1) { edges { node { reviews { author { reviews { author { reviews { author { name } } } } } } } } } }`;
      const open = await serve({ maxDepth: 20 });
      const answered = await open.post(deep);
      expect(
        [answered.status, answered.body.errors],
        `the query is valid: Review.author leads back to a User, so it can go as deep as its author types it\n${answered.text}`,
      ).toEqual([200, undefined]);
      const { store, post } = await serve();
      expectRefused(
        await post(deep),
        store,
        "DEPTH_LIMIT_EXCEEDED",
        "depth 10 exceeds the limit of 8",
      );
    });

    test("with the default limits, a wide query through the reviews' authors is refused by its cost before any store query", async () => {
      // Depth 7, within 8; but users 1 + edges (1 + 100 × node (1 + reviews (1 + 10 × author
      // (1 + name 1 + reviews (1 + 10 × comment 1))))) = 13,202
      const wide = `{ users(first: 100) { edges { node { reviews { author { name reviews { comment } } } } } } }`;
      const { store, post } = await serve();
      expectRefused(
        await post(wide),
        store,
        "COST_LIMIT_EXCEEDED",
        "cost 13202 exceeds the limit of 10000",
      );
    });

    test("a query over the default cost is refused, however it is split into aliases and fragments", async () => {
      const { store, post } = await serve();
      // 1 + (1 + 100 × (1 + orders (1 + 10 × items (1 + 10)) + reviews (1 + 10))) = 12,302
      const hundred = `{ users(first: 100) { edges { node { orders { items { productName } } reviews { comment } } } } }`;
      expectRefused(
        await post(hundred),
        store,
        "COST_LIMIT_EXCEEDED",
        "cost 12302 exceeds the limit of 10000",
      );
      // Three aliases of a screen of 20 users (5,082 each), the fields in a fragment.
      const aliased = /* GraphQL */ `
        {
          a: users(first: 20) {
            ...Page
          }
          b: users(first: 20) {
            ...Page
          }
          c: users(first: 20) {
            ...Page
          }
        }
        fragment Page on UserConnection {
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
      `;
      expectRefused(
        await post(aliased),
        store,
        "COST_LIMIT_EXCEEDED",
        "cost 15246 exceeds the limit of 10000",
      );
    });

    test("the default limits let the course's screens through", async () => {
      const { post } = await serve();
      for (const query of [USER_123, TWENTY_USERS]) {
        const reply = await post(query);
        expect(reply.status, `${query}\n${reply.text}`).toBe(200);
        expect(reply.body.errors, reply.text).toBeUndefined();
      }
    });

    test("a document of more than maxTokens tokens is refused while it is parsed", async () => {
      const { store, post } = await serve({ maxTokens: 50 });
      // { user ( id : "123" ) { name × 60 } } is 70 tokens.
      const long = `{ user(id: "123") { ${"name ".repeat(60)}} }`;
      const reply = await post(long);
      expect(reply.status, reply.text).toBe(400);
      const messages = reply.body.errors?.map((e) => e.message);
      expect(
        messages,
        "graphql-js's parse({ maxTokens }) stops at the 51st token: the document is never parsed whole",
      ).toHaveLength(1);
      // graphql 16 spells it "more that"; the test takes either spelling.
      expect(messages?.[0]).toMatch(
        /^Syntax Error: Document contains more tha[nt] 50 tokens\. Parsing aborted\.$/,
      );
      expect(store.queryLog).toEqual([]);
      expect((await post(USER_NAME)).status, "11 tokens are within 50").toBe(200);
    });
  });

  describe("introspection", () => {
    const refusals = [
      ["__schema", `{ __schema { types { name } } }`],
      ["__schema written tight", `{__schema{queryType{name}}}`],
      ["__schema under an alias", `{ s: __schema { queryType { name } } }`],
      ["__type", `{ __type(name: "User") { fields { name } } }`],
      [
        "__type in a fragment",
        `query { ...Q } fragment Q on Query { t: __type(name: "User") { name } }`,
      ],
    ] as const;

    for (const [what, query] of refusals) {
      test(`introspection: false refuses ${what}`, async () => {
        const { store, post } = await serve({ introspection: false });
        const reply = await post(query);
        expect(reply.status, reply.text).toBe(400);
        expect(
          reply.body.errors?.[0]?.message,
          `NoSchemaIntrospectionCustomRule, a validation rule, sees the fields asked for; its own message is expected, "GraphQL introspection has been disabled, but the requested query contained the field ...": ${reply.text}`,
        ).toMatch(/introspection has been disabled/);
        expect(reply.body.data).toBeUndefined();
        expect(store.queryLog).toEqual([]);
      });
    }

    test("introspection: false still answers __typename, and a string or comment that says __schema", async () => {
      const { post } = await serve({ introspection: false });
      const typename = await post(`{ __typename user(id: "123") { __typename name } }`);
      expect(
        typename.body,
        `__typename names a type, it does not describe the schema: ${typename.text}`,
      ).toEqual({
        data: { __typename: "Query", user: { __typename: "User", name: "Ada Lovelace" } },
      });
      const text = await post(`# no __schema here\n{ user(id: "__schema") { name } }`);
      expect(
        text.body,
        `an argument or a comment that says __schema asks for no introspection field: ${text.text}`,
      ).toEqual({ data: { user: null } });
    });

    test("introspection is on unless turned off", async () => {
      const { post } = await serve();
      const reply = await post(`{ __schema { queryType { name } } }`);
      expect(reply.body, reply.text).toEqual({
        data: { __schema: { queryType: { name: "Query" } } },
      });
    });
  });

  describe("errors from resolvers", () => {
    const failing = (): Store =>
      createStore({
        onQuery: () => {
          throw new Error("connect ECONNREFUSED db-7.internal:5432");
        },
      });

    test("a resolver's bug reaches the client as Internal server error with an id, and the log has the bug under it", async () => {
      const { post, log } = await serve({ store: failing() });
      const reply = await post(USER_NAME);
      expect(reply.status, "the request was valid: the failure is in the result, 200").toBe(200);
      expect(reply.body.data, reply.text).toEqual({ user: null });
      const error = reply.body.errors?.[0];
      expect(error?.message, reply.text).toBe("Internal server error");
      expect(error?.extensions?.code, reply.text).toBe("INTERNAL_SERVER_ERROR");
      expect(typeof error?.extensions?.errorId, reply.text).toBe("string");
      expect(reply.text, "nothing of the bug's message reaches the client").not.toContain("db-7");
      expect(reply.text, "no stack frame reaches the client").not.toMatch(/\bat \S+ \(|\.ts:\d+/);

      expect(log, "the bug is logged once, with the id the client got").toHaveLength(1);
      const [entry] = log;
      expect(
        (entry?.error as Error).message,
        "the log gets the error the resolver met (DataLoader wraps it, the message stays)",
      ).toContain("connect ECONNREFUSED db-7.internal:5432");
      expect((entry?.error as Error).stack, "the log gets the stack, to find the bug").toMatch(
        /\n\s+at /,
      );
      expect(entry?.id).toBe(error?.extensions?.errorId);
    });

    test("without a log option, the bug and its id go to console.error", async () => {
      watchServerLog();
      serverLog(); // from here the log is kept, not printed: the bug is expected
      const server = createServer({ store: failing() });
      const { host, port } = await listen(server);
      const reply = await fetchReply(
        `http://${host}:${port}/graphql?query=${encodeURIComponent(USER_NAME)}`,
        [],
      );
      const id = reply.body.errors?.[0]?.extensions?.errorId;
      expect(typeof id, reply.text).toBe("string");
      const logged = serverLog();
      expect(
        logged.some((arg) => arg instanceof Error && arg.message.includes("db-7")),
        "console.error got the error itself",
      ).toBe(true);
      expect(
        logged.some((arg) => typeof arg === "string" && arg.includes(id as string)),
        `console.error got the id ${String(id)}, to find the bug from what the client reports`,
      ).toBe(true);
    });

    test("an error thrown on purpose, BAD_USER_INPUT, reaches the client as it is", async () => {
      const query = `{ users(first: 0) { edges { cursor } } }`;
      // The schema's own answer, executed with no server in between: whatever its wording, the
      // client must get the same message and code.
      const direct = await within(
        Promise.resolve(
          graphql({
            schema: createSchema(),
            source: query,
            contextValue: { store: createStore() },
          }),
        ),
        `the result of ${query} from your createSchema()`,
      );
      const own = (direct.errors ?? []).map(
        (e) => `${String(e.extensions.code ?? "(no code)")}: ${e.message}`,
      );
      expect(own, `your schema refuses first: 0 with BAD_USER_INPUT (Step 1)`).toEqual([
        expect.stringMatching(/^BAD_USER_INPUT: /),
      ]);
      const { post, log } = await serve();
      const reply = await post(query);
      expect(errorsOf(reply), `the schema's own message and code, unmasked: ${reply.text}`).toEqual(
        own,
      );
      expect(log, "an error meant for the client is not a bug: nothing logged").toEqual([]);
    });
  });
});
