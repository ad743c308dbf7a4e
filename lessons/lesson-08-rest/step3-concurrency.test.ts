import type express from "express";
import { describe, expect, test } from "vitest";
import { codeOf } from "../../shared/testing/errors.ts";
import { checkPreconditions, etagOf } from "#lesson/lesson-08-rest/caching.ts";
import { request, startApi, type Api, type Reply } from "./helpers.ts";

const ADA = { name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };

/** The user as its client reads it: the fields and the ETag that came with them. */
async function read(api: Api, id: string): Promise<{ user: typeof ADA; etag: string }> {
  const reply = await request(api, "GET", `/users/${id}`);
  expect(reply.status, `GET /users/${id}`).toBe(200);
  const { name, email } = reply.json as typeof ADA;
  return { user: { name, email }, etag: reply.headers.get("etag") ?? "" };
}

/** `reply` is the 412 problem; `because` says why the precondition is false. */
function expect412(
  reply: Reply,
  what: string,
  because = "the resource changed since that ETag",
): void {
  expect(reply.status, `${what}: ${because}, so 412 Precondition Failed`).toBe(412);
  expect(reply.headers.get("content-type"), "a 412 is a problem document").toMatch(
    /^application\/problem\+json/,
  );
  expect((reply.json as { type?: string }).type, "its type").toMatch(/precondition-failed/);
}

/**
 * After a 412: user 123 is still as it was, named `name`. A server that checks the precondition
 * after writing answers 412 all the same, but the write it was meant to stop has happened.
 */
async function expectUnchanged(api: Api, name: string, what: string): Promise<void> {
  const rule =
    "the precondition is checked before the write (RFC 9110 §13.2.1: just before the server performs the method), so that a 412 leaves the resource as it was";
  const reply = await request(api, "GET", "/users/123");
  expect(reply.status, `${what}: user 123 is gone although the answer was 412: ${rule}`).toBe(200);
  expect(
    (reply.json as { name?: unknown }).name,
    `${what}: the user changed although the answer was 412: ${rule}`,
  ).toBe(name);
}

/** A request with just these headers, as checkPreconditions reads it (req.get). */
function withHeaders(headers: Record<string, string>): express.Request {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower.get(name.toLowerCase()) } as unknown as express.Request;
}

/** What checkPreconditions did: "passes", or the status and type of the ApiError it threw. */
function verdict(headers: Record<string, string>, current: string | undefined): string {
  let error: unknown;
  try {
    checkPreconditions(withHeaders(headers), current);
    return "passes";
  } catch (thrown) {
    error = thrown;
  }
  if (codeOf(error) === "COURSE_NOT_IMPLEMENTED") throw error;
  const {
    status,
    type,
    headers: sent,
  } = error as {
    status?: number;
    type?: string;
    headers?: Record<string, string>;
  };
  // The 412 names what is current now, so the client knows what to read (none: no ETag).
  expect(sent, `the 412's headers, for ${JSON.stringify(headers)}`).toStrictEqual(
    current === undefined ? {} : { ETag: current },
  );
  return `${status} ${type}`;
}

describe("Step 3: Caching and concurrency control", () => {
  test("without If-Match, two clients editing user 123 lose an update: the second write wins unseen", async () => {
    const api = await startApi();
    const alice = await read(api, "123");
    const bob = await read(api, "123");
    // Alice corrects the name; Bob, from the copy he read before, changes the email.
    const first = await request(api, "PUT", "/users/123", {
      body: { ...alice.user, name: "Ada King" },
    });
    expect(first.status, "Alice's PUT").toBe(200);
    const second = await request(api, "PUT", "/users/123", {
      body: { ...bob.user, email: "ada@example.org" },
    });
    expect(second.status, "Bob's PUT, sent without If-Match, is accepted").toBe(200);
    const now = await read(api, "123");
    expect(now.user, "Alice's new name is gone: Bob replaced it with the name he had read").toEqual(
      {
        name: "Ada Lovelace",
        email: "ada@example.org",
      },
    );
  });

  test("with If-Match, the second write gets 412, and its client rereads, merges and succeeds", async () => {
    const api = await startApi();
    const alice = await read(api, "123");
    const bob = await read(api, "123");
    const first = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": alice.etag },
      body: { ...alice.user, name: "Ada King" },
    });
    expect(first.status, `Alice's PUT with If-Match: ${alice.etag}, the current ETag`).toBe(200);

    const second = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": bob.etag },
      body: { ...bob.user, email: "ada@example.org" },
    });
    expect412(second, `Bob's PUT with If-Match: ${bob.etag}, the ETag before Alice's write`);
    await expectUnchanged(api, "Ada King", "Bob's PUT with the ETag before Alice's write");

    const fresh = await read(api, "123");
    const merged = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": fresh.etag },
      body: { ...fresh.user, email: "ada@example.org" },
    });
    expect(merged.status, "Bob's PUT again, made on what he reread, with its ETag").toBe(200);
    expect((await read(api, "123")).user, "both edits are kept").toEqual({
      name: "Ada King",
      email: "ada@example.org",
    });
  });

  test("PATCH and DELETE with an outdated If-Match get 412 and change nothing; with the current one they go through", async () => {
    const api = await startApi();
    const old = await read(api, "123");
    await request(api, "PUT", "/users/123", { body: { ...ADA, name: "Ada King" } });

    const patch = await request(api, "PATCH", "/users/123", {
      headers: { "If-Match": old.etag, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ name: "Countess of Lovelace" }),
    });
    expect412(patch, "PATCH with an outdated If-Match");
    await expectUnchanged(api, "Ada King", "PATCH with an outdated If-Match");
    const del = await request(api, "DELETE", "/users/123", { headers: { "If-Match": old.etag } });
    expect412(del, "DELETE with an outdated If-Match");
    await expectUnchanged(api, "Ada King", "DELETE with an outdated If-Match");
    const still = await read(api, "123");

    const patched = await request(api, "PATCH", "/users/123", {
      headers: { "If-Match": still.etag, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ name: "Countess of Lovelace" }),
    });
    expect(patched.status, "PATCH with the current If-Match").toBe(200);
    const current = patched.headers.get("etag") ?? "";
    expect(current, "the 200 of a PATCH carries the new representation's ETag").toBe(
      (await read(api, "123")).etag,
    );
    const deleted = await request(api, "DELETE", "/users/123", {
      headers: { "If-Match": current },
    });
    expect(deleted.status, "DELETE with the current If-Match").toBe(204);
  });

  test("If-Match uses the strong comparison: the weak form of the current ETag does not match", async () => {
    const api = await startApi();
    const { etag } = await read(api, "123");
    const reply = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": `W/${etag}` },
      body: { ...ADA, name: "Ada King" },
    });
    expect412(
      reply,
      `PUT with If-Match: W/${etag}`,
      `the resource has not changed: W/${etag} is the weak form of the current ETag ${etag}, and If-Match uses the strong comparison (RFC 9110 §13.1.1: a weak tag never matches strongly): the precondition is false`,
    );
    await expectUnchanged(api, "Ada Lovelace", `PUT with If-Match: W/${etag}`);
  });

  test("If-Match takes a list, and * for any current representation", async () => {
    const api = await startApi();
    const { etag } = await read(api, "123");
    const listed = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": `"older", ${etag}` },
      body: { ...ADA, name: "Ada King" },
    });
    expect(listed.status, `PUT with If-Match: "older", ${etag}: one of them is current`).toBe(200);
    const any = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": "*" },
      body: ADA,
    });
    expect(any.status, "PUT with If-Match: * on a user that exists").toBe(200);
  });

  test("If-Match reads a comma inside a tag as part of it: one tag around the current one's characters is not the current tag", async () => {
    const api = await startApi();
    const { etag } = await read(api, "123");
    const field = `"${etag.slice(1, -1)},stale"`;
    const reply = await request(api, "PUT", "/users/123", {
      headers: { "If-Match": field },
      body: { ...ADA, name: "Ada King" },
    });
    expect412(
      reply,
      `PUT with If-Match: ${field}`,
      `that is one tag (RFC 9110 §8.8.3: a comma is an etagc), not the current ETag ${etag} and "stale"; split on commas it would match, read tag by tag it does not: the precondition is false`,
    );
    await expectUnchanged(api, "Ada Lovelace", `PUT with If-Match: ${field}`);
  });

  test("If-None-Match: * on a PUT to a user that exists is 412: it means only if there is none yet", async () => {
    const api = await startApi();
    const reply = await request(api, "PUT", "/users/123", {
      headers: { "If-None-Match": "*" },
      body: { ...ADA, name: "Ada King" },
    });
    expect412(
      reply,
      "PUT with If-None-Match: *",
      'user 123 exists, and * matches any current representation (RFC 9110 §13.1.2): the condition "none yet" is false',
    );
    await expectUnchanged(api, "Ada Lovelace", "PUT with If-None-Match: *");
  });

  test("a write is answered with its representation, never a 304, whatever If-None-Match names", async () => {
    const api = await startApi();
    const next = { id: "123", ...ADA, name: "Ada King" };
    const reply = await request(api, "PUT", "/users/123", {
      headers: { "If-None-Match": etagOf(next) },
      body: { ...ADA, name: "Ada King" },
    });
    expect(
      reply.status,
      "If-None-Match names the user as the PUT makes it, not as it is, so the write goes on; and a 304 answers only a GET or HEAD (RFC 9110 §13.1.2)",
    ).toBe(200);
    expect(reply.json, "the 200 carries the user as it now is").toEqual(next);
  });

  test("checkPreconditions follows RFC 9110 §13.1.1, §13.1.2 and §13.2.2", () => {
    const current = etagOf(ADA);
    const cases: [headers: Record<string, string>, etag: string | undefined, expected: string][] = [
      [{}, current, "passes"],
      [{}, undefined, "passes"],
      [{ "If-Match": current }, current, "passes"],
      [{ "If-Match": `"older"` }, current, "412 precondition-failed"],
      [{ "If-Match": `W/${current}` }, current, "412 precondition-failed"],
      [{ "If-Match": `"older", ${current}` }, current, "passes"],
      [{ "If-Match": "*" }, current, "passes"],
      [{ "If-Match": "*" }, undefined, "412 precondition-failed"],
      [{ "If-Match": current }, undefined, "412 precondition-failed"],
      [{ "If-None-Match": "*" }, current, "412 precondition-failed"],
      [{ "If-None-Match": "*" }, undefined, "passes"],
      [{ "If-None-Match": `W/${current}` }, current, "412 precondition-failed"],
      [{ "If-None-Match": `"older"` }, current, "passes"],
      // §13.2.2: If-Match decides first; a failing one is a 412 whatever follows.
      [{ "If-Match": `"older"`, "If-None-Match": `"other"` }, current, "412 precondition-failed"],
      // A comma is an etagc: the list is read tag by tag, not split on commas.
      [{ "If-Match": `"a,b"` }, `"a,b"`, "passes"],
      [{ "If-Match": `"x", "a,b"` }, `"a,b"`, "passes"],
      [{ "If-None-Match": `"x", "a,b"` }, `"a,b"`, "412 precondition-failed"],
      // Two weak tags are the same under the weak comparison only.
      [{ "If-Match": `W/"v1"` }, `W/"v1"`, "412 precondition-failed"],
      [{ "If-None-Match": `W/"v1"` }, `W/"v1"`, "412 precondition-failed"],
    ];
    for (const [headers, etag, expected] of cases) {
      expect(
        verdict(headers, etag),
        `${JSON.stringify(headers)} when the current ETag is ${etag ?? "(none)"}`,
      ).toBe(expected);
    }
  });
});
