import { TRPCClientError } from "@trpc/client";
import { describe, expect, expectTypeOf, onTestFinished, test } from "vitest";
import type { Message } from "#reference/lesson-05-polling/feed.ts";
import { createServer as createReferenceServer } from "#reference/lesson-11-trpc/server.ts";
import { createClient } from "#lesson/lesson-11-trpc/client.ts";
import type { AppRouter } from "#lesson/lesson-11-trpc/router.ts";
import { within } from "../../shared/testing/patience.ts";
import { record, startServer, TOKEN, type Started } from "./sse-helpers.ts";

// Your client against the reference server: what is checked here is the client alone. The types
// come from your router (client.ts imports AppRouter from ./router.ts); step3-compile.test.ts and
// `npm run typecheck` run the type-checker over this file, so an `expectTypeOf` that does not
// hold, or a `@ts-expect-error` line that compiles, fails as a failing test would.

const ADA = { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };

/** A call's answer, bounded, or its error as a value (a TRPCClientError for a refusal). */
async function settle<T>(call: () => Promise<T>, started: Started, what: string): Promise<T> {
  return within(Promise.race([call(), started.failed]), `an answer to ${what}`);
}
async function refusal(call: () => Promise<unknown>, started: Started, what: string) {
  const error = await settle(
    () => call().then(() => new Error(`${what} was answered; a refusal was expected`)),
    started,
    what,
  ).catch((e: unknown) => e);
  if (!(error instanceof TRPCClientError)) throw error;
  return error as TRPCClientError<AppRouter>;
}

/** The requests that reached /trpc/, as `METHOD path?query`. */
const calls = (started: Started): string[] =>
  started.requests.filter((r) => r.url.startsWith("/trpc/")).map((r) => `${r.method} ${r.url}`);

describe("Step 3: A typed client, and types that break the build", () => {
  test("user.getUser answers the user, typed by the router: no code generated", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url);
    const user = await settle(() => client.user.getUser.query({ id: "123" }), started, "getUser");
    expectTypeOf(user).toEqualTypeOf<{ id: string; name: string; email: string }>();
    expectTypeOf(client.user.getUser.query).parameter(0).toEqualTypeOf<{ id: string }>();
    expect(user).toEqual(ADA);
  });

  test("two queries in one tick are one HTTP request: GET /trpc/user.getUser,user.getUser?batch=1", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url);
    const users = await settle(
      () =>
        Promise.all([
          client.user.getUser.query({ id: "123" }),
          client.user.getUser.query({ id: "124" }),
        ]),
      started,
      "two getUser queries",
    );
    expect(users.map((u) => u.id)).toEqual(["123", "124"]);
    const sent = calls(started);
    expect(sent, "httpBatchLink: the two calls of one tick in one request").toHaveLength(1);
    expect(sent[0], "the procedures' names, comma-separated, and batch=1").toMatch(
      /^GET \/trpc\/user\.getUser,user\.getUser\?batch=1&input=/,
    );
  });

  test("with batch: false each query is a request of its own (httpLink)", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url, { batch: false });
    await settle(
      () =>
        Promise.all([
          client.user.getUser.query({ id: "123" }),
          client.user.getUser.query({ id: "124" }),
        ]),
      started,
      "two getUser queries",
    );
    const sent = calls(started);
    expect(sent, "one request per call, no batch=1").toHaveLength(2);
    expect(sent.every((c) => c.startsWith("GET /trpc/user.getUser?input="))).toBe(true);
  });

  test("the token goes as Authorization: Bearer <token>, and a protected mutation is served", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url, { token: TOKEN });
    const created = await settle(
      () => client.user.createUser.mutate({ name: "Grace Hopper", email: "grace@example.com" }),
      started,
      "createUser with a token",
    );
    expectTypeOf(created).toEqualTypeOf<{ id: string; name: string; email: string }>();
    expect(created).toMatchObject({ name: "Grace Hopper", email: "grace@example.com" });
    const seen = started.requests.find((r) => r.url.startsWith("/trpc/user.createUser"));
    expect(seen?.method, "a mutation is a POST").toBe("POST");
    expect(seen?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test("without a token, createUser is refused: UNAUTHORIZED, and no Authorization is sent", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url);
    const error = await refusal(
      () => client.user.createUser.mutate({ name: "Grace Hopper", email: "grace@example.com" }),
      started,
      "createUser without a token",
    );
    expect(error.data?.code).toBe("UNAUTHORIZED");
    expect(started.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  test("an input of the wrong type does not compile, and the server refuses it: BAD_REQUEST", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url);
    // @ts-expect-error: the id is a string ("123"), and the client's type says so before anything runs
    const error = await refusal(() => client.user.getUser.query({ id: 123 }), started, "getUser");
    expect(error.data?.code).toBe("BAD_REQUEST");
    expect(error.data?.httpStatus).toBe(400);
  });

  test("an input missing a field does not compile, and the server refuses it: BAD_REQUEST", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url, { token: TOKEN });
    const error = await refusal(
      // @ts-expect-error: createUser's input needs an email
      () => client.user.createUser.mutate({ name: "Grace Hopper" }),
      started,
      "createUser without an email",
    );
    expect(error.data?.code).toBe("BAD_REQUEST");
  });

  test("a misspelt procedure does not compile, and the server has no such procedure: NOT_FOUND", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url);
    const error = await refusal(
      // @ts-expect-error: there is getUser, not getUsr
      () => client.user.getUsr.query({ id: "123" }),
      started,
      "user.getUsr",
    );
    expect(error.data?.code).toBe("NOT_FOUND");
    expect(error.data?.httpStatus).toBe(404);
  });

  test("a subscription goes over an event stream (GET, Accept: text/event-stream) with the token", async () => {
    const started = await startServer(createReferenceServer);
    const client = createClient(started.url, { token: TOKEN });
    expectTypeOf(client.feed.onMessage.subscribe)
      .parameter(0)
      .toEqualTypeOf<void | { lastEventId?: string | null | undefined } | undefined>();
    const recorder = record<{ id: string; data: Message }>(started.failed);
    const subscription = client.feed.onMessage.subscribe({}, recorder.handlers);
    onTestFinished(() => subscription.unsubscribe());
    await recorder.started(1, "the stream to start (a subscription over httpBatchLink cannot)");
    started.feed.append({ author: "ada", text: "hello" });
    const [event] = await recorder.until(1, "the message posted to the feed");
    expectTypeOf(event!.data).toEqualTypeOf<Message>();
    expect(event).toMatchObject({ id: "1", data: { id: 1, text: "hello" } });
    const stream = started.requests.find((r) => r.url.startsWith("/trpc/feed.onMessage"));
    expect(
      stream?.headers.accept,
      "an EventSource asks for text/event-stream: the fetch you give it gets its headers in init.headers (Accept, and Last-Event-ID on a reconnection); merge the token into them, for a fetch that replaces them drops those",
    ).toBe("text/event-stream");
    expect(
      stream?.headers.authorization,
      "the eventsource package sends what its fetch adds: the token, on the stream too",
    ).toBe(`Bearer ${TOKEN}`);
  });
});
