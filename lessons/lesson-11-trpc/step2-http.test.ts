import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import type { AppRouter } from "#lesson/lesson-11-trpc/router.ts";
import { createServer } from "#lesson/lesson-11-trpc/server.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { loggedStub, serverLog, watchServerLog } from "../../shared/testing/server-log.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { ask, inputQuery, serve, TOKEN, type Reply, type Served } from "./calls.ts";

const ADA = { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };
const EVE = { name: "Eve", email: "eve@example.com" };
const JSON_POST = { "Content-Type": "application/json" };
const withCurl = testWithTool("curl", "install curl (apt-get install curl, brew install curl)");

/** tRPC's error envelope, as the server sends it. */
interface ErrorBody {
  error?: {
    message?: unknown;
    code?: unknown;
    data?: {
      code?: unknown;
      httpStatus?: unknown;
      path?: unknown;
      zodError?: { formErrors?: unknown; fieldErrors?: Record<string, unknown> } | null;
    };
  };
}

/** The error of a reply, or a failure that shows what came back. */
function errorOf(reply: Reply): NonNullable<ErrorBody["error"]> {
  const error = (reply.json as ErrorBody | undefined)?.error;
  if (error === undefined) {
    throw new Error(`Expected tRPC's error envelope, {"error":{...}}${reply.shown}`);
  }
  return error;
}

/** A client of your server, through the link given; the token sent as Authorization: Bearer. */
function clientOf(
  served: Served,
  link: typeof httpBatchLink | typeof httpLink,
  token?: string,
): ReturnType<typeof createTRPCClient<AppRouter>> {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const links: TRPCLink<AppRouter>[] = [link({ url: served.url, headers })];
  return createTRPCClient<AppRouter>({ links });
}

/** A call through @trpc/client, bounded; a stub the server reached fails with its message. */
async function viaClient<T>(served: Served, call: () => Promise<T>, what: string): Promise<T> {
  try {
    return await within(call(), `the answer to ${what} through @trpc/client`);
  } catch (error) {
    served.rethrowStub();
    throw error;
  }
}

/** The TRPCClientError a call through @trpc/client rejected with. */
async function clientError(
  served: Served,
  call: () => Promise<unknown>,
  what: string,
): Promise<TRPCClientError<AppRouter>> {
  let value: unknown;
  try {
    value = await within(call(), `a rejection of ${what} through @trpc/client`);
  } catch (error) {
    served.rethrowStub();
    if (error instanceof TRPCClientError) return error as TRPCClientError<AppRouter>;
    throw error;
  }
  throw new Error(`${what} should have failed, and resolved to ${JSON.stringify(value)}`);
}

describe("Step 2: tRPC over HTTP", () => {
  describe("queries and mutations with no tRPC code", () => {
    test("GET /trpc/user.getUser?input={...} answers the user as {result:{data}}", async () => {
      const served = await serve();
      const reply = await ask(served, `/trpc/user.getUser?${inputQuery({ id: "123" })}`);
      expect(reply.status, reply.shown).toBe(200);
      expect(reply.headers.get("content-type"), reply.shown).toMatch(/^application\/json/);
      expect(reply.json, reply.shown).toEqual({ result: { data: ADA } });
    });

    withCurl(
      "curl 'localhost:PORT/trpc/user.getUser?input=%7B%22id%22%3A%22123%22%7D' answers the user",
      async () => {
        const served = await serve();
        const url = `${served.url}/user.getUser?input=%7B%22id%22%3A%22123%22%7D`;
        const { stdout } = await within(run("curl", ["-sS", url]), `curl's answer from ${url}`);
        served.rethrowStub();
        expect(JSON.parse(stdout) as unknown, stdout).toEqual({ result: { data: ADA } });
      },
    );

    withCurl("curl -d POSTs a mutation with its input as the JSON body", async () => {
      const served = await serve();
      const { stdout } = await within(
        run("curl", [
          "-sS",
          "-H",
          "Content-Type: application/json",
          "-H",
          `Authorization: Bearer ${TOKEN}`,
          "-d",
          JSON.stringify(EVE),
          `${served.url}/user.createUser`,
        ]),
        "curl's answer to POST /trpc/user.createUser",
      );
      served.rethrowStub();
      expect(JSON.parse(stdout) as unknown, stdout).toEqual({
        result: { data: { id: "141", ...EVE } },
      });
      expect(served.store.getUser("141")?.email).toBe(EVE.email);
    });

    test("a mutation is a POST whose body is the input", async () => {
      const served = await serve();
      const reply = await ask(served, "/trpc/user.createUser", {
        method: "POST",
        headers: { ...JSON_POST, Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ name: "  Eve  ", email: EVE.email }),
      });
      expect(reply.status, reply.shown).toBe(200);
      expect(reply.json, reply.shown).toEqual({ result: { data: { id: "141", ...EVE } } });
    });

    test("a GET on a mutation is 405 METHOD_NOT_SUPPORTED, and nothing is written", async () => {
      const served = await serve();
      const reply = await ask(served, `/trpc/user.createUser?${inputQuery(EVE)}`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(
        reply.status,
        `a GET must be safe (RFC 9110 §9.2.1): tRPC refuses a mutation by GET with 405${reply.shown}`,
      ).toBe(405);
      expect(errorOf(reply).data?.code, reply.shown).toBe("METHOD_NOT_SUPPORTED");
      expect(
        reply.headers.get("allow"),
        "a 405 says which method would do (RFC 9110 §15.5.6): Allow: POST",
      ).toBe("POST");
      expect(served.store.findUserByEmail(EVE.email), "the mutation ran").toBeUndefined();
    });

    test("a POST whose body is not application/json is 415, and nothing is written", async () => {
      const served = await serve();
      const reply = await ask(served, "/trpc/user.createUser", {
        method: "POST",
        // What curl -d sends without -H 'Content-Type: application/json'.
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Bearer ${TOKEN}`,
        },
        body: JSON.stringify(EVE),
      });
      expect(reply.status, reply.shown).toBe(415);
      expect(errorOf(reply).data?.code, reply.shown).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(served.store.findUserByEmail(EVE.email), "the mutation ran").toBeUndefined();
    });
  });

  describe("errors and their status codes", () => {
    test("NOT_FOUND is HTTP 404, with tRPC's error shape", async () => {
      const served = await serve();
      const reply = await ask(served, `/trpc/user.getUser?${inputQuery({ id: "999" })}`);
      expect(
        reply.status,
        `no such user is TRPCError NOT_FOUND, which the adapter sends as 404; a null result is 200 {"result":{"data":null}}${reply.shown}`,
      ).toBe(404);
      const error = errorOf(reply);
      expect(typeof error.message, reply.shown).toBe("string");
      expect(error.code, `NOT_FOUND's JSON-RPC code is -32004${reply.shown}`).toBe(-32004);
      expect(
        error.data,
        `the formatter keeps tRPC's default data (code, httpStatus, path) and adds zodError${reply.shown}`,
      ).toEqual({ code: "NOT_FOUND", httpStatus: 404, path: "user.getUser", zodError: null });
      expect(
        served.log,
        "a NOT_FOUND thrown on purpose is an answer, not a bug: only INTERNAL_SERVER_ERROR goes to the log",
      ).toEqual([]);
    });

    test("input zod refuses is BAD_REQUEST, HTTP 400, with the field errors in data.zodError", async () => {
      const served = await serve();
      const reply = await ask(served, "/trpc/user.createUser", {
        method: "POST",
        headers: { ...JSON_POST, Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ name: "   ", email: "not an email" }),
      });
      expect(reply.status, reply.shown).toBe(400);
      const error = errorOf(reply);
      expect(
        { code: error.data?.code, httpStatus: error.data?.httpStatus, path: error.data?.path },
        `the errorFormatter must keep the shape's data as it was, and add to it${reply.shown}`,
      ).toEqual({ code: "BAD_REQUEST", httpStatus: 400, path: "user.createUser" });
      expect(
        error.data?.zodError,
        `data.zodError is z.flattenError(error.cause): each refused field with its messages${reply.shown}`,
      ).toEqual({
        formErrors: [],
        fieldErrors: { name: ["a name is not empty"], email: ["Invalid email address"] },
      });
      expect(served.store.getUser("141"), "nothing may be written").toBeUndefined();
    });

    test("zodError is null for an error that is not a refused input", async () => {
      const served = await serve();
      const taken = await ask(served, "/trpc/user.createUser", {
        method: "POST",
        headers: { ...JSON_POST, Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ name: "Ada", email: ADA.email }),
      });
      expect(taken.status, `a taken email is CONFLICT, HTTP 409${taken.shown}`).toBe(409);
      expect(errorOf(taken).data, taken.shown).toEqual({
        code: "CONFLICT",
        httpStatus: 409,
        path: "user.createUser",
        zodError: null,
      });
    });

    test("an input that is not JSON is 400 BAD_REQUEST, with zodError null: zod never saw it", async () => {
      const served = await serve();
      const reply = await ask(served, "/trpc/user.getUser?input=%7Bid%3A123");
      expect(reply.status, reply.shown).toBe(400);
      expect(
        errorOf(reply).data,
        `a BAD_REQUEST whose cause is not a ZodError has no field errors: zodError is null${reply.shown}`,
      ).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, zodError: null });
    });

    test("a ZodError in the server's own code is a bug: 500, and no field errors sent", async () => {
      const store = createStore({
        onQuery: () => {
          z.object({ total: z.number() }).parse({ total: "a row the database got wrong" });
        },
      });
      const served = await serve({ store });
      const reply = await ask(served, `/trpc/user.getUser?${inputQuery({ id: "123" })}`);
      expect(reply.status, reply.shown).toBe(500);
      expect(
        errorOf(reply).data,
        `only an input the procedure refused is the client's to fix: zodError only for BAD_REQUEST${reply.shown}`,
      ).toMatchObject({ code: "INTERNAL_SERVER_ERROR", zodError: null });
      expect(served.log, "the bug is logged").toHaveLength(1);
    });

    test("an unknown procedure is 404 NOT_FOUND", async () => {
      const served = await serve();
      for (const name of ["user.nope", "users.getUser", "getUser"]) {
        const reply = await ask(served, `/trpc/${name}?${inputQuery({ id: "123" })}`);
        expect(reply.status, reply.shown).toBe(404);
        expect(errorOf(reply).data?.code, reply.shown).toBe("NOT_FOUND");
      }
    });

    test("options.onRequest is called with every request the server receives, whatever its path", async () => {
      const served = await serve();
      const paths = [
        "/",
        "/trpc",
        "/users/123",
        `/trpc/user.getUser?${inputQuery({ id: "123" })}`,
        "/trpc/user.nope",
      ];
      for (const path of paths) await ask(served, path);
      const seen = served.requests.map((r) => `${r.method} ${r.url}`);
      expect(
        seen,
        `onRequest first, before the server decides what is tRPC's: a request it answers 404 was received too; onRequest saw ${JSON.stringify(seen)}`,
      ).toEqual(paths.map((path) => `GET ${path}`));
    });

    test("a path outside /trpc/ is a plain 404, whatever follows it", async () => {
      const served = await serve();
      const input = inputQuery({ id: "123" });
      for (const path of [
        "/",
        "/trpc",
        "/users/123",
        `/trpcx/user.getUser?${input}`,
        `/trpcuser.getUser?${input}`,
        // The adapter cuts basePath's length off any path: this would be user.getUser to it.
        `/rpc1/user.getUser?${input}`,
        `/api/trpc/user.getUser?${input}`,
      ]) {
        const reply = await ask(served, path);
        expect(
          reply.status,
          `only /trpc/<procedure> is tRPC's; the standalone adapter cuts basePath off the front of a path without checking it is there, so check it yourself${reply.shown}`,
        ).toBe(404);
        expect(reply.text, reply.shown).not.toContain("Ada Lovelace");
        expect(
          reply.headers.get("content-type"),
          `a path that is not tRPC's gets the server's own plain-text 404${reply.shown}`,
        ).toMatch(/^text\/plain/);
      }
    });

    // Before the tests of one token each: a context made once would fail those with a message
    // about the token, when the cause is that the first request's context was kept.
    test("each request gets its own context: one caller's token is never another's", async () => {
      const served = await serve();
      const post = (authorization: string | undefined, email: string): Promise<Reply> =>
        ask(served, "/trpc/user.createUser", {
          method: "POST",
          headers: authorization ? { ...JSON_POST, Authorization: authorization } : JSON_POST,
          body: JSON.stringify({ name: "Eve", email }),
        });
      const first = await post(undefined, "eve1@example.com");
      const second = await post(`Bearer ${TOKEN}`, "eve2@example.com");
      const third = await post(undefined, "eve3@example.com");
      expect(
        [first.status, second.status, third.status],
        `without, with, and without a token: createContext runs for each request, from that request's headers${first.shown}${second.shown}${third.shown}`,
      ).toEqual([401, 200, 401]);
    });

    test("a protected procedure without a token is 401 UNAUTHORIZED; with one, in any case of Bearer, it runs", async () => {
      const served = await serve();
      const post = (authorization: string | undefined, email: string): Promise<Reply> =>
        ask(served, "/trpc/user.createUser", {
          method: "POST",
          headers: authorization ? { ...JSON_POST, Authorization: authorization } : JSON_POST,
          body: JSON.stringify({ name: "Eve", email }),
        });
      const none = await post(undefined, "eve@example.com");
      expect(none.status, none.shown).toBe(401);
      expect(errorOf(none).data?.code, none.shown).toBe("UNAUTHORIZED");
      const lower = await post(`bearer ${TOKEN}`, "eve@example.com");
      expect(
        lower.status,
        `the auth scheme is case-insensitive (RFC 9110 §11.1)${lower.shown}`,
      ).toBe(200);
    });

    test("the server's own tokens (options.tokens) name its callers, in place of DEFAULT_TOKENS", async () => {
      const served = await serve({ tokens: { "grace-token": "grace" } });
      const post = (token: string, email: string): Promise<Reply> =>
        ask(served, "/trpc/user.createUser", {
          method: "POST",
          headers: { ...JSON_POST, Authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: "Eve", email }),
        });
      const own = await post("grace-token", "eve1@example.com");
      expect(
        own.status,
        `a token of options.tokens names a user: createContext gets the server's tokens${own.shown}`,
      ).toBe(200);
      const other = await post(TOKEN, "eve2@example.com");
      expect(
        other.status,
        `a server given tokens of its own knows those alone: ${TOKEN} is not one of them${other.shown}`,
      ).toBe(401);
    });

    test("a procedure's bug is 500 INTERNAL_SERVER_ERROR, and what it threw goes to the log", async () => {
      const gone = new Error("the database went away");
      const store = createStore({
        onQuery: (name) => {
          if (name === "getUser") throw gone;
        },
      });
      const served = await serve({ store });
      const reply = await ask(served, `/trpc/user.getUser?${inputQuery({ id: "123" })}`);
      expect(reply.status, reply.shown).toBe(500);
      expect(errorOf(reply).data?.code, reply.shown).toBe("INTERNAL_SERVER_ERROR");
      expect(
        served.log,
        "the adapter's onError hands options.log the bug's cause, the error the store threw",
      ).toHaveLength(1);
      expect(served.log[0], "the error the store threw, not tRPC's wrapper of it").toBe(gone);
      expect(
        served.logPaths,
        "options.log gets the procedure's path beside the error: onError's path, which says where the bug is",
      ).toEqual(["user.getUser"]);
    });

    test("createServer() with no options serves its own store and logs a bug with console.error", async () => {
      watchServerLog();
      const plain = createServer();
      const { host, port } = await listen(plain);
      const response = await within(
        fetch(`http://${host}:${port}/trpc/user.getUser?${inputQuery({ id: "123" })}`),
        "an answer from createServer() with no options",
      );
      const stub = loggedStub();
      if (stub) throw stub;
      expect(await response.json()).toEqual({ result: { data: ADA } });
      // A bug in a server made without options.log: the store of a server given only a store.
      const store = createStore({
        onQuery: () => {
          throw new Error("the database went away");
        },
      });
      serverLog(); // from here on the log is kept, and not printed
      const failing = createServer({ store });
      const address = await listen(failing);
      const reply = await within(
        fetch(`http://${address.host}:${address.port}/trpc/user.list`),
        "an answer from a server whose store fails",
      );
      expect(reply.status).toBe(500);
      expect(
        serverLog().some(
          (entry) => entry instanceof Error && entry.message === "the database went away",
        ),
        "without options.log, a bug goes to console.error",
      ).toBe(true);
    });
  });

  describe("@trpc/client, and batching", () => {
    for (const link of [httpBatchLink, httpLink]) {
      test(`${link.name}: a query and a mutation, typed by AppRouter`, async () => {
        const served = await serve();
        const client = clientOf(served, link, TOKEN);
        const user = await viaClient(
          served,
          () => client.user.getUser.query({ id: "123" }),
          "user.getUser",
        );
        expect(user).toEqual(ADA);
        const created = await viaClient(
          served,
          () => client.user.createUser.mutate(EVE),
          "user.createUser",
        );
        expect(created).toEqual({ id: "141", ...EVE });
      });
    }

    test("NOT_FOUND reaches the client as a TRPCClientError with the server's data", async () => {
      const served = await serve();
      const client = clientOf(served, httpBatchLink);
      const error = await clientError(
        served,
        () => client.user.getUser.query({ id: "999" }),
        "user.getUser({ id: '999' })",
      );
      expect(error.data?.code, error.message).toBe("NOT_FOUND");
      expect(error.data?.httpStatus, error.message).toBe(404);
    });

    test("a refused input reaches the client with data.zodError, typed", async () => {
      const served = await serve();
      const client = clientOf(served, httpLink, TOKEN);
      const error = await clientError(
        served,
        () => client.user.createUser.mutate({ name: "Eve", email: "nope" }),
        "user.createUser with a bad email",
      );
      expect(error.data?.code, error.message).toBe("BAD_REQUEST");
      expect(error.data?.zodError?.fieldErrors.email, error.message).toEqual([
        "Invalid email address",
      ]);
    });

    test("two queries in one tick through httpBatchLink are ONE HTTP request", async () => {
      const served = await serve();
      const client = clientOf(served, httpBatchLink);
      const [user, page] = await viaClient(
        served,
        () =>
          Promise.all([
            client.user.getUser.query({ id: "123" }),
            client.user.list.query({ limit: 2 }),
          ]),
        "user.getUser and user.list",
      );
      expect(user).toEqual(ADA);
      expect(page.items.map((u) => u.id)).toEqual(["101", "102"]);
      const seen = served.requests.map((r) => `${r.method} ${decodeURIComponent(r.url)}`);
      expect(seen, "the server counts every HTTP request it receives (onRequest)").toHaveLength(1);
      const url = new URL(served.requests[0]?.url ?? "", served.origin);
      expect(url.pathname, "both procedures' names, comma-separated").toBe(
        "/trpc/user.getUser,user.list",
      );
      expect(url.searchParams.get("batch")).toBe("1");
      expect(JSON.parse(url.searchParams.get("input") ?? "null") as unknown).toEqual({
        0: { id: "123" },
        1: { limit: 2 },
      });
    });

    test("the same two queries through httpLink are two HTTP requests", async () => {
      const served = await serve();
      const client = clientOf(served, httpLink);
      await viaClient(
        served,
        () =>
          Promise.all([
            client.user.getUser.query({ id: "123" }),
            client.user.list.query({ limit: 2 }),
          ]),
        "user.getUser and user.list",
      );
      expect(
        served.requests.map((r) => decodeURIComponent(r.url)).sort(),
        "one request per call, each to its own procedure's path",
      ).toEqual(['/trpc/user.getUser?input={"id":"123"}', '/trpc/user.list?input={"limit":2}']);
    });

    test("a batch by hand: one GET answers an array, one result per call, in order", async () => {
      const served = await serve();
      const input = inputQuery({ 0: { id: "123" }, 1: { limit: 2 } });
      const reply = await ask(served, `/trpc/user.getUser,user.list?batch=1&${input}`);
      expect(reply.status, reply.shown).toBe(200);
      const body = reply.json as { result?: { data?: { items?: { id: string }[] } } }[];
      expect(Array.isArray(body), `a batch answers a JSON array${reply.shown}`).toBe(true);
      expect(body[0], reply.shown).toEqual({ result: { data: ADA } });
      expect(
        body[1]?.result?.data?.items?.map((u) => u.id),
        reply.shown,
      ).toEqual(["101", "102"]);
    });

    test("a batch where one call fails answers each call on its own, under 207 Multi-Status", async () => {
      const served = await serve();
      const input = inputQuery({ 0: { id: "123" }, 1: { id: "999" } });
      const reply = await ask(served, `/trpc/user.getUser,user.getUser?batch=1&${input}`);
      expect(
        reply.status,
        `one HTTP status cannot say 200 and 404 at once: tRPC answers 207${reply.shown}`,
      ).toBe(207);
      const body = reply.json as ErrorBody[];
      expect(body[0], reply.shown).toEqual({ result: { data: ADA } });
      expect(body[1]?.error?.data?.code, reply.shown).toBe("NOT_FOUND");
    });
  });
});
