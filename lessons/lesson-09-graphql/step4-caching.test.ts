import { Agent, interceptors, request, type Dispatcher } from "undici";
import { describe, expect, onTestFinished, test, vi } from "vitest";
import { within } from "../../shared/testing/patience.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import {
  ask,
  GRAPHQL_RESPONSE,
  JSON_TYPE,
  mediaTypeOf,
  rethrowStub,
  startGraphQL,
  type Reply,
} from "./helpers.ts";

const withCurl = testWithTool("curl", "install curl (apt-get install curl, brew install curl)");

const REVIEWS = '{ user(id: "123") { name reviews { rating comment } } }';
const ADD_REVIEW = {
  query: 'mutation { addReview(userId: "123", input: { rating: 5, comment: "Again!" }) { id } }',
};

/** The headers that make a response cacheable, in one line for a failure message. */
function cacheHeaders(reply: Reply): string {
  const names = ["etag", "cache-control", "vary"];
  return names.map((name) => `${name}: ${reply.headers.get(name) ?? "(none)"}`).join(", ");
}

/** The max-age of a Cache-Control, or undefined. */
function maxAge(cacheControl: string | null): number | undefined {
  const match = /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl ?? "");
  return match ? Number(match[1]) : undefined;
}

/** undici 7's HTTP cache in front of the server, as lesson 08 uses it: closed when the test ends. */
function cachingAgent(): Dispatcher {
  const agent = new Agent();
  onTestFinished(() => agent.close());
  return agent.compose(interceptors.cache());
}

/** A GET through `dispatcher`: status, headers and body, bounded. */
async function getThrough(
  dispatcher: Dispatcher,
  url: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; body: string }> {
  const target = new URL(url);
  target.searchParams.set("query", query);
  const response = await within(
    request(target, { dispatcher, headers }),
    `an answer to GET ${target.search} through undici's cache`,
  );
  const body = await within(response.body.text(), "the body through undici's cache");
  rethrowStub(response.statusCode);
  const type = response.headers["content-type"];
  return {
    status: response.statusCode,
    type: mediaTypeOf(typeof type === "string" ? type : null),
    body,
  };
}

describe("Step 4: HTTP caching for queries", () => {
  describe("the headers", () => {
    test("a GET query gets a strong ETag, Cache-Control with a max-age, and Vary: Accept", async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, { params: { query: REVIEWS } });
      expect(reply.status, reply.shown).toBe(200);
      const etag = reply.headers.get("etag");
      expect(
        etag,
        `a strong entity tag: an opaque string in double quotes, no W/ (RFC 9110 §8.8.3): ${cacheHeaders(reply)}`,
      ).toMatch(/^"[\x21\x23-\x7e]+"$/);
      const cacheControl = reply.headers.get("cache-control");
      expect(
        maxAge(cacheControl),
        `Cache-Control with max-age=N, N > 0: how long a cache may answer it itself (RFC 9111 §5.2.2.1): ${cacheHeaders(reply)}`,
      ).toBeGreaterThan(0);
      expect(cacheControl, cacheHeaders(reply)).not.toMatch(/no-store|no-cache/);
      expect(
        reply.headers.get("vary")?.toLowerCase(),
        `the type and the status depend on Accept: Vary: Accept, or a cache serves one client's type to another (RFC 9110 §12.5.5): ${cacheHeaders(reply)}`,
      ).toMatch(/accept/);
    });

    test("the ETag comes from the bytes: the same answer the same tag, a changed answer a new one", async () => {
      const { url } = await startGraphQL();
      const first = await ask(url, { params: { query: REVIEWS } });
      const again = await ask(url, { params: { query: REVIEWS } });
      expect(
        again.headers.get("etag"),
        "the same bytes twice: a validator that changes without the data (a time, a counter, a random id) never lets a cache revalidate",
      ).toBe(first.headers.get("etag"));
      await ask(url, { body: ADD_REVIEW });
      const changed = await ask(url, { params: { query: REVIEWS } });
      expect(changed.text, changed.shown).not.toBe(first.text);
      expect(
        changed.headers.get("etag"),
        "the review is new, so are the bytes: a tag from the query (the URL) alone would let a cache keep the old answer for ever",
      ).not.toBe(first.headers.get("etag"));
      const other = await ask(url, { params: { query: '{ user(id: "124") { name } }' } });
      expect(other.headers.get("etag"), "another answer, another tag").not.toBe(
        changed.headers.get("etag"),
      );
    });

    test("the media type is in the ETag: the same bytes under each Accept are two representations", async () => {
      const { url } = await startGraphQL();
      const asNew = await ask(url, {
        params: { query: REVIEWS },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      const asJson = await ask(url, { params: { query: REVIEWS }, headers: { Accept: JSON_TYPE } });
      expect(asJson.text, `one query, one answer, whatever the type${asJson.shown}`).toBe(
        asNew.text,
      );
      expect(
        [
          mediaTypeOf(asNew.headers.get("content-type")),
          mediaTypeOf(asJson.headers.get("content-type")),
        ],
        `each Accept gets the type it asked for${asNew.shown}${asJson.shown}`,
      ).toEqual([GRAPHQL_RESPONSE, JSON_TYPE]);
      expect(
        asJson.headers.get("etag"),
        `the same bytes as ${JSON_TYPE} are another representation than as ${GRAPHQL_RESPONSE} (RFC 9110 §8.8.3): hash the media type with the bytes: a cache holding both may revalidate with either's tag, and the 304's tag must pick the right copy (RFC 9111 §4.3.4) (${GRAPHQL_RESPONSE}: ${asNew.headers.get("etag") ?? "(none)"}, ${JSON_TYPE}: ${asJson.headers.get("etag") ?? "(none)"})`,
      ).not.toBe(asNew.headers.get("etag"));
      expect(asJson.headers.get("etag"), cacheHeaders(asJson)).toMatch(/^"/);
    });

    test("If-None-Match with the current tag is 304, no body, with the ETag and Cache-Control", async () => {
      const { url } = await startGraphQL();
      const first = await ask(url, { params: { query: REVIEWS } });
      const etag = first.headers.get("etag") ?? "";
      for (const ifNoneMatch of [etag, `"old", ${etag}`, `W/${etag}`, "*"]) {
        const reply = await ask(url, {
          params: { query: REVIEWS },
          headers: { "If-None-Match": ifNoneMatch },
        });
        expect(
          reply.status,
          `If-None-Match: ${ifNoneMatch} matches ${etag} (RFC 9110 §13.1.2: a list, compared weakly, or *)${reply.shown}`,
        ).toBe(304);
        expect(reply.text, "a 304 has no content").toBe("");
        expect(reply.headers.get("etag"), "a 304 carries the ETag the 200 would have").toBe(etag);
        expect(
          maxAge(reply.headers.get("cache-control")),
          "and the Cache-Control, which the cache takes as the copy's new freshness (RFC 9110 §15.4.5)",
        ).toBeGreaterThan(0);
      }
    });

    test("If-None-Match with another tag gets the whole answer", async () => {
      const { url } = await startGraphQL();
      const first = await ask(url, { params: { query: REVIEWS } });
      expect(first.headers.get("etag"), `a GET query has an ETag: ${cacheHeaders(first)}`).toMatch(
        /^"/,
      );
      await ask(url, { body: ADD_REVIEW });
      const reply = await ask(url, {
        params: { query: REVIEWS },
        headers: { "If-None-Match": first.headers.get("etag") ?? "" },
      });
      expect(reply.status, `the data changed: the old tag no longer matches${reply.shown}`).toBe(
        200,
      );
      expect(reply.text).toContain("Again!");
    });

    test("a POST, a query as much as a mutation, is Cache-Control: no-store, without an ETag", async () => {
      const { url } = await startGraphQL();
      for (const body of [{ query: REVIEWS }, ADD_REVIEW]) {
        const reply = await ask(url, { body });
        expect(reply.status, reply.shown).toBe(200);
        expect(
          reply.headers.get("cache-control"),
          `a POST is no read a cache may answer again: no-store: ${cacheHeaders(reply)}`,
        ).toMatch(/no-store/);
        expect(reply.headers.get("etag"), cacheHeaders(reply)).toBeNull();
      }
    });

    for (const accept of [GRAPHQL_RESPONSE, JSON_TYPE]) {
      test(`a GET with errors is no-store: errors are not cached (Accept: ${accept})`, async () => {
        const { url } = await startGraphQL();
        for (const query of [
          "{ users(first: 0) { edges { cursor } } }", // a resolver's error: data and errors
          "{ user(id: 1) { nope } }", // a validation error
        ]) {
          const reply = await ask(url, { params: { query }, headers: { Accept: accept } });
          expect(reply.json.errors?.length, reply.shown).toBeGreaterThan(0);
          expect(
            reply.headers.get("cache-control"),
            `an error is not a representation worth keeping, and may be gone on the next try: no-store: ${cacheHeaders(reply)}${reply.shown}`,
          ).toMatch(/no-store/);
          expect(reply.headers.get("etag"), cacheHeaders(reply)).toBeNull();
        }
      });
    }
  });

  describe("a real HTTP cache: undici's cache interceptor", () => {
    test("a repeated GET query is answered from the cache, without reaching the server", async () => {
      const { url, requests } = await startGraphQL();
      const cache = cachingAgent();
      const first = await getThrough(cache, url, REVIEWS);
      expect(first.status, first.body).toBe(200);
      for (let i = 0; i < 3; i++) {
        const again = await getThrough(cache, url, REVIEWS);
        expect(again).toEqual(first);
      }
      expect(
        requests.length,
        `within max-age the cache answers by itself: only the first GET reaches the server. It saw: ${requests.map((r) => `${r.method} ${r.url}`).join(", ")}`,
      ).toBe(1);
    });

    test("told to check (no-cache), the cache revalidates with If-None-Match, and a 304 keeps its copy", async () => {
      const { url, requests } = await startGraphQL();
      const cache = cachingAgent();
      const first = await getThrough(cache, url, REVIEWS);
      // RFC 9111 §5.2.1.4: a request's no-cache makes the cache validate its copy before use.
      const checked = await getThrough(cache, url, REVIEWS, { "cache-control": "no-cache" });
      expect(checked).toEqual(first);
      expect(requests.length, "the revalidation reaches the server").toBe(2);
      expect(
        requests[1]?.headers["if-none-match"],
        "the cache sends back the ETag it has as If-None-Match",
      ).toBeDefined();
    });

    test("past max-age the copy is stale: the cache revalidates it with If-None-Match, and a 304 keeps it", async () => {
      const { url, requests } = await startGraphQL();
      const cache = cachingAgent();
      const first = await getThrough(cache, url, REVIEWS);
      const direct = await ask(url, { params: { query: REVIEWS } });
      const age = maxAge(direct.headers.get("cache-control")) ?? 0;
      requests.length = 0;
      // The cache reads its clock with Date.now(): move it past max-age rather than wait.
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + (age + 1) * 1000 });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      const stale = await getThrough(cache, url, REVIEWS);
      expect(stale).toEqual(first);
      expect(requests.length, "a stale copy is checked with the server").toBe(1);
      expect(
        requests[0]?.headers["if-none-match"],
        "conditionally: If-None-Match with the copy's ETag, so the answer can be a 304 without a body",
      ).toBe(direct.headers.get("etag"));
    });

    test("after a change, a revalidation gets the new answer", async () => {
      const { url } = await startGraphQL();
      const cache = cachingAgent();
      const first = await getThrough(cache, url, REVIEWS);
      await ask(url, { body: ADD_REVIEW });
      const cached = await getThrough(cache, url, REVIEWS);
      expect(cached, "within max-age, the cache's copy, even though the data changed").toEqual(
        first,
      );
      const checked = await getThrough(cache, url, REVIEWS, { "cache-control": "no-cache" });
      expect(checked.body, "revalidated: the new review is there").toContain("Again!");
    });

    test("a GET with errors reaches the server every time, where one without is kept", async () => {
      const { url, requests } = await startGraphQL();
      const cache = cachingAgent();
      await getThrough(cache, url, REVIEWS);
      await getThrough(cache, url, REVIEWS);
      expect(requests.length, "the query without errors is kept: one request for two").toBe(1);
      const query = "{ users(first: 0) { edges { cursor } } }";
      await getThrough(cache, url, query);
      await getThrough(cache, url, query);
      expect(requests.length, "an error must not be answered from a cache").toBe(3);
    });

    test("each Accept has its own copy (Vary: Accept)", async () => {
      const { url, requests } = await startGraphQL();
      const cache = cachingAgent();
      const typed = await getThrough(cache, url, REVIEWS, { accept: GRAPHQL_RESPONSE });
      const legacy = await getThrough(cache, url, REVIEWS, { accept: JSON_TYPE });
      expect(typed.type).toBe(GRAPHQL_RESPONSE);
      expect(
        legacy.type,
        "a client that accepts only application/json must not get the cached graphql-response+json",
      ).toBe(JSON_TYPE);
      expect(requests.length).toBe(2);
      await getThrough(cache, url, REVIEWS, { accept: GRAPHQL_RESPONSE });
      expect(requests.length, "the first Accept's copy is still there").toBe(2);
    });
  });

  withCurl("curl -i shows the ETag, and the same GET with If-None-Match: <it> is 304", async () => {
    const { url } = await startGraphQL();
    const target = `${url}?query=${encodeURIComponent('{user(id:"123"){name}}')}`;
    const { stdout: first } = await run("curl", ["-sS", "-i", target]);
    rethrowStub(Number(first.slice(9, 12)));
    const etag = /\r\netag: *([^\r\n]*)/i.exec(first)?.[1];
    expect(etag, first).toBeDefined();
    const { stdout: second } = await run("curl", [
      "-sS",
      "-i",
      "-H",
      `If-None-Match: ${etag}`,
      target,
    ]);
    expect(second.slice(0, 12), second).toBe("HTTP/1.1 304");
  });
});
