import http from "node:http";
import express from "express";
import { describe, expect, test } from "vitest";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { notWrittenIn } from "../../shared/testing/server-log.ts";
import {
  CACHE_CONTROL,
  etagOf,
  sendRepresentation,
  strongETag,
} from "#lesson/lesson-08-rest/caching.ts";
import { request, startApi, type Reply } from "./helpers.ts";

/** The headers of a reply in one line, for a failure message. */
function head(reply: Reply): string {
  return `${reply.status} ${[...reply.headers].map(([k, v]) => `${k}: ${v}`).join(" | ")}`;
}

/** An entity-tag (RFC 9110 §8.8.3): DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text. */
const STRONG_TAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/;

const ADA = { name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };

describe("Step 3: Caching and concurrency control", () => {
  test("strongETag gives a quoted tag, not weak, that is the same for the same bytes and differs for others", () => {
    const tag = strongETag('{"id":"123"}');
    expect(tag, "an entity-tag is in double quotes, and a strong one has no W/").toMatch(
      STRONG_TAG,
    );
    expect(strongETag(Buffer.from('{"id":"123"}')), "the same bytes as a Buffer").toBe(tag);
    expect(strongETag('{"id":"123"}'), "the same bytes again").toBe(tag);
    expect(strongETag('{"id":"124"}'), "one byte more or less is another representation").not.toBe(
      tag,
    );
    expect(strongETag('{"id":"123"} '), "a trailing space is another representation").not.toBe(tag);
    expect(etagOf({ id: "123" }), "etagOf(value) is the ETag of the JSON that is sent").toBe(tag);
  });

  test("every representation carries a strong ETag made from the bytes of its body, and its own Cache-Control", async () => {
    const api = await startApi();
    const kinds = [
      ["/users/123", CACHE_CONTROL.user],
      ["/users?limit=3", CACHE_CONTROL.userList],
      ["/users/123/orders", CACHE_CONTROL.orders],
      ["/users/123/reviews", CACHE_CONTROL.reviews],
    ] as const;
    for (const [path, cacheControl] of kinds) {
      const reply = await request(api, "GET", path);
      expect(reply.status, `GET ${path}`).toBe(200);
      const etag = reply.headers.get("etag");
      expect(etag, `GET ${path} has a strong ETag: ${head(reply)}`).toMatch(STRONG_TAG);
      expect(
        etag,
        `the ETag of GET ${path} is the hash of the body sent (strongETag of its bytes)`,
      ).toBe(strongETag(reply.text));
      expect(reply.headers.get("cache-control"), `Cache-Control of GET ${path}`).toBe(cacheControl);
    }
  });

  test("the ETag changes with the representation, and is the same again when the content is", async () => {
    const api = await startApi();
    const before = await request(api, "GET", "/users/123");
    const renamed = await request(api, "PUT", "/users/123", { body: { ...ADA, name: "Ada King" } });
    expect(renamed.status, "PUT /users/123").toBe(200);
    const changed = await request(api, "GET", "/users/123");
    expect(
      changed.headers.get("etag"),
      "a changed user is another representation: another ETag",
    ).not.toBe(before.headers.get("etag"));
    await request(api, "PUT", "/users/123", { body: ADA });
    const back = await request(api, "GET", "/users/123");
    expect(back.text, "the same user as at first").toBe(before.text);
    expect(
      back.headers.get("etag"),
      "the same bytes are the same representation: a validator made from the content, not a version counter",
    ).toBe(before.headers.get("etag"));
  });

  test("If-None-Match with the current ETag is answered 304 with its ETag and Cache-Control and no body", async () => {
    const api = await startApi();
    const first = await request(api, "GET", "/users/123");
    const etag = first.headers.get("etag") ?? "";
    const again = await request(api, "GET", "/users/123", { headers: { "If-None-Match": etag } });
    expect(again.status, `If-None-Match: ${etag} names what the client has: ${head(again)}`).toBe(
      304,
    );
    expect(again.headers.get("etag"), "a 304 carries the ETag a 200 would (RFC 9110 §15.4.5)").toBe(
      etag,
    );
    expect(
      again.headers.get("cache-control"),
      "and its Cache-Control, to refresh the stored copy",
    ).toBe(CACHE_CONTROL.user);
    expect(again.text, "a 304 has no content").toBe("");
  });

  test("If-None-Match matches weakly, in a list of tags, and with *", async () => {
    const api = await startApi();
    const etag = (await request(api, "GET", "/users/123")).headers.get("etag") ?? "";
    const fields = [`W/${etag}`, `"stale", ${etag}`, `"a,b", W/"x",${etag}`, `*`];
    for (const field of fields) {
      const reply = await request(api, "GET", "/users/123", {
        headers: { "If-None-Match": field },
      });
      expect(
        reply.status,
        `If-None-Match: ${field} (current ETag ${etag}; RFC 9110 §13.1.2: weak comparison, a list, or *)`,
      ).toBe(304);
    }
  });

  test("If-None-Match that names no current tag gets the whole 200", async () => {
    const api = await startApi();
    const first = await request(api, "GET", "/users/123");
    const etag = first.headers.get("etag") ?? "";
    for (const field of [`"stale"`, `"stale", W/"older"`, `${etag.slice(0, -1)}x"`]) {
      const reply = await request(api, "GET", "/users/123", {
        headers: { "If-None-Match": field },
      });
      expect(reply.status, `If-None-Match: ${field} is not the current ETag ${etag}`).toBe(200);
      expect(reply.text).toBe(first.text);
      expect(reply.headers.get("etag")).toBe(etag);
    }
  });

  test("a comma inside an entity tag is part of it: a tag that holds the current one's characters around a comma is another tag", async () => {
    const api = await startApi();
    const first = await request(api, "GET", "/users/123");
    const etag = first.headers.get("etag") ?? "";
    const opaque = etag.slice(1, -1);
    // RFC 9110 §8.8.3: etagc includes ",", so each of these is one tag, and none is the current.
    // Cut at the commas and unquoted, each would yield a piece that reads as the current tag.
    for (const field of [`"${opaque},stale"`, `"stale,${opaque}"`, `"stale", W/"${opaque},x"`]) {
      const reply = await request(api, "GET", "/users/123", {
        headers: { "If-None-Match": field },
      });
      expect(
        reply.status,
        `If-None-Match: ${field} names no tag equal to the current ${etag}: read the list tag by tag (a quoted string may hold a comma), not cut at each comma.\n  received: ${head(reply)}`,
      ).toBe(200);
      expect(reply.headers.get("etag")).toBe(etag);
    }
  });

  test("HEAD with If-None-Match is answered 304 too, and a HEAD otherwise has the GET's ETag", async () => {
    const api = await startApi();
    const etag = (await request(api, "GET", "/users/123")).headers.get("etag") ?? "";
    const head = await request(api, "HEAD", "/users/123", { headers: { "If-None-Match": etag } });
    expect(head.status, "HEAD with If-None-Match of the current ETag (RFC 9110 §13.1.2)").toBe(304);
    const plain = await request(api, "HEAD", "/users/123");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("etag"), "a HEAD has the head a GET would have").toBe(etag);
  });

  test("sendRepresentation answers a POST 201 unless told otherwise, and anything else 200", async () => {
    const app = express();
    for (const method of ["get", "post", "put"] as const) {
      app[method]("/thing", (req, res) =>
        sendRepresentation(req, res, { a: 1 }, { cacheControl: "no-store" }),
      );
    }
    app.post("/told", (req, res) =>
      sendRepresentation(req, res, { a: 1 }, { cacheControl: "no-store", status: 200 }),
    );
    const { host, port } = await listen(http.createServer(app));
    for (const [method, path, status] of [
      ["GET", "/thing", 200],
      ["PUT", "/thing", 200],
      ["POST", "/thing", 201],
      ["POST", "/told", 200],
    ] as const) {
      const response = await within(
        fetch(`http://${host}:${port}${path}`, { method }),
        `${method} ${path}`,
      );
      const text = await within(response.text(), `the body of ${method} ${path}`);
      const unwritten = notWrittenIn(text);
      if (unwritten) throw new Error(unwritten);
      expect(response.status, `${method} ${path}: ${text}`).toBe(status);
      expect(text).toBe('{"a":1}');
    }
  });

  test("a 304 for one user is not one for another: the tag names a representation", async () => {
    const api = await startApi();
    const etag = (await request(api, "GET", "/users/123")).headers.get("etag") ?? "";
    const other = await request(api, "GET", "/users/124", { headers: { "If-None-Match": etag } });
    expect(other.status, `user 124 with If-None-Match of user 123 (${etag})`).toBe(200);
  });
});
