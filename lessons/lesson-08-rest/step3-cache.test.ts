/**
 * Step 3 with a real HTTP cache as the client: undici 7's cache interceptor (RFC 9111), composed on
 * an Agent, in front of the learner's API. The server counts the requests that reach it; a spy
 * between the cache and the network sees what the cache sent and what came back.
 */
import { afterEach, describe, expect, onTestFinished, test, vi } from "vitest";
import { Agent, interceptors, request as undiciRequest, type Dispatcher } from "undici";
import { within } from "../../shared/testing/patience.ts";
import { isNotWritten, notWrittenIn } from "../../shared/testing/server-log.ts";
import { CACHE_CONTROL } from "#lesson/lesson-08-rest/caching.ts";
import { request, startApi, type Api } from "./helpers.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** What went past the cache to the server: the request's If-None-Match and the status back. */
interface Exchange {
  path: string;
  ifNoneMatch: string | undefined;
  status: number;
}

/**
 * An interceptor that records each request the cache lets through and the status that answers
 * it, and changes nothing.
 */
function spy(seen: Exchange[]): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const headers = (options.headers ?? {}) as Record<string, string | string[] | undefined>;
    const ifNoneMatch = Object.entries(headers).find(
      ([name]) => name.toLowerCase() === "if-none-match",
    )?.[1];
    const exchange: Exchange = {
      path: options.path,
      ifNoneMatch: Array.isArray(ifNoneMatch) ? ifNoneMatch.join(", ") : ifNoneMatch,
      status: 0,
    };
    seen.push(exchange);
    return dispatch(options, {
      onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, status, h, socket) =>
        handler.onRequestUpgrade?.(controller, status, h, socket),
      onResponseStart: (controller, status, h, message) => {
        exchange.status = status;
        handler.onResponseStart?.(controller, status, h, message);
      },
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
    });
  };
}

/** A client with its own HTTP cache, closed when the test ends. */
function cachingClient(type: "private" | "shared"): { agent: Dispatcher; seen: Exchange[] } {
  const seen: Exchange[] = [];
  // The last interceptor is the outermost: the cache answers first, the spy sees what it let by.
  const agent = new Agent().compose(spy(seen), interceptors.cache({ type }));
  onTestFinished(async () => {
    await agent.close();
  });
  return { agent, seen };
}

/** A GET through the caching client, its whole body read. */
async function get(
  api: Api,
  agent: Dispatcher,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const response = await within(
    undiciRequest(api.base + path, { dispatcher: agent }),
    `an answer to GET ${path} through the cache`,
  );
  const text = await within(response.body.text(), `the body of GET ${path} through the cache`);
  // As helpers.ts request() does: a stub reached behind a 500 fails the test with its own message.
  const stub = api.log.map((entry) => entry.error).find(isNotWritten);
  if (stub) throw stub;
  const unwritten = response.statusCode === 500 ? notWrittenIn(text) : undefined;
  if (unwritten) throw new Error(unwritten);
  return { status: response.statusCode, headers: response.headers, text };
}

describe("Step 3: Caching and concurrency control", () => {
  test("a private cache serves a repeated GET of the orders from its store within max-age", async () => {
    const api = await startApi();
    const { agent, seen } = cachingClient("private");
    const first = await get(api, agent, "/users/123/orders");
    expect(first.status, "GET /users/123/orders answers 200").toBe(200);
    expect(first.headers["cache-control"], "the orders' Cache-Control").toBe(CACHE_CONTROL.orders);
    const reached = api.requests;

    const second = await get(api, agent, "/users/123/orders");
    expect(
      api.requests,
      `a second GET within max-age (${CACHE_CONTROL.orders}) is the cache's to answer: it must not reach the server`,
    ).toBe(reached);
    expect(second.status).toBe(200);
    expect(second.text, "the cached body is the one the server sent").toBe(first.text);
    expect(seen.map((s) => s.path)).toEqual(["/users/123/orders"]);
  });

  test("after max-age the cache revalidates with If-None-Match, gets 304, and the client still gets the body", async () => {
    const api = await startApi();
    // undici's cache reads its clock with Date.now() (RFC 9111 §4.2: freshness is a matter of
    // age). Faking Date alone moves that clock past max-age at once, without waiting for it;
    // every timer stays real, so the connection and within() work as ever.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const { agent, seen } = cachingClient("private");
    const first = await get(api, agent, "/users/123/orders");
    const etag = first.headers.etag;
    expect(typeof etag, "the orders carry an ETag to revalidate with").toBe("string");

    const maxAge = Number(/max-age=(\d+)/.exec(CACHE_CONTROL.orders)?.[1]);
    vi.setSystemTime(Date.now() + (maxAge + 1) * 1000);
    const reached = api.requests;
    const second = await get(api, agent, "/users/123/orders");

    expect(api.requests, "once stale, the cache must ask the server").toBe(reached + 1);
    expect(seen[1], "the cache asks with the ETag it has, and the server answers 304").toEqual({
      path: "/users/123/orders",
      ifNoneMatch: etag,
      status: 304,
    });
    expect(second.status, "the cache turns the 304 into its stored 200").toBe(200);
    expect(second.text, "and gives the body it kept").toBe(first.text);
  });

  test("a user (no-cache) is revalidated on every use, and a changed user comes back whole", async () => {
    const api = await startApi();
    const { agent, seen } = cachingClient("private");
    const first = await get(api, agent, "/users/123");
    expect(first.headers["cache-control"], "the user's Cache-Control").toBe(CACHE_CONTROL.user);
    const again = await get(api, agent, "/users/123");
    expect(again.text).toBe(first.text);
    expect(seen[1], "no-cache: stored, but asked about before each reuse; unchanged, 304").toEqual({
      path: "/users/123",
      ifNoneMatch: first.headers.etag,
      status: 304,
    });

    const renamed = await request(api, "PUT", "/users/123", {
      body: { name: "Augusta Ada King", email: "ada.lovelace.123@example.com" },
    });
    expect(renamed.status, "PUT /users/123").toBe(200);
    const after = await get(api, agent, "/users/123");
    expect(after.status).toBe(200);
    expect(
      JSON.parse(after.text),
      "a changed user is a 200 with the new representation",
    ).toMatchObject({
      name: "Augusta Ada King",
    });
    expect(after.headers.etag, "with a new ETag").not.toBe(first.headers.etag);
  });

  test("a shared cache, such as a CDN's, does not keep a private response", async () => {
    const api = await startApi();
    const { agent } = cachingClient("shared");
    const first = await get(api, agent, "/users/123/orders");
    expect(first.status, "GET /users/123/orders answers 200").toBe(200);
    const reached = api.requests;
    await get(api, agent, "/users/123/orders");
    expect(
      api.requests,
      `"private" (${CACHE_CONTROL.orders}) tells a shared cache not to store it (RFC 9111 §5.2.2.7)`,
    ).toBe(reached + 1);
  });
});
