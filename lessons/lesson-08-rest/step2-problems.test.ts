import { describe, expect, test } from "vitest";
import { invalidParams } from "#lesson/lesson-08-rest/problem.ts";
import { UserInputSchema } from "#lesson/lesson-08-rest/schemas.ts";
import { createStore, type User } from "#lesson/lesson-08-rest/store.ts";
import { request, startApi, type Api, type RequestInit } from "./helpers.ts";
import { show } from "../../shared/testing/bytes.ts";
import { described, expectProblem, rawExchange } from "./replies.ts";

const ADA: User = { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };
const MERGE_PATCH = { "content-type": "application/merge-patch+json" };

/** The request, then the problem it must be answered with. */
async function problemOf(
  api: Api,
  method: string,
  path: string,
  status: number,
  type: string,
  init: RequestInit = {},
) {
  const reply = await request(api, method, path, init);
  const body =
    init.body === undefined
      ? ""
      : ` ${typeof init.body === "string" ? init.body : JSON.stringify(init.body)}`;
  const sent = `${method} ${path}${body}`;
  return { reply, sent, problem: expectProblem(sent, reply, status, type) };
}

/** The server still answers: Ada, as she is. */
async function stillServing(api: Api, after: string): Promise<void> {
  const reply = await request(api, "GET", "/users/123");
  expect(
    reply.status,
    `The server must go on serving after ${after}.\n${described("GET /users/123", reply)}`,
  ).toBe(200);
}

/** The comma-separated list of an Allow header (RFC 9110 §10.2.1), upper case. */
function allowed(header: string | null): string[] {
  return (header ?? "")
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
}

describe("Step 2: Errors as problem details", () => {
  test("an invalid user is 400 application/problem+json with one errors entry per invalid field, each a JSON Pointer", async () => {
    const api = await startApi();
    const { problem, sent } = await problemOf(api, "POST", "/users", 400, "validation", {
      body: { name: "", email: "not an email", admin: true },
    });
    expect(typeof problem.title === "string" && problem.title !== "", "a title").toBe(true);
    expect(typeof problem.detail === "string" && problem.detail !== "", "a detail").toBe(true);
    const pointers = (problem.errors ?? []).map((e) => e.pointer).sort();
    expect(
      pointers,
      `One entry per invalid field, each naming it by a JSON Pointer into the body (RFC 6901), not one string for all of them.\n  sent: ${sent}\n  errors: ${JSON.stringify(problem.errors)}`,
    ).toEqual(["/admin", "/email", "/name"]);
    for (const entry of problem.errors ?? []) {
      expect(entry.reason, `each entry says what is wrong with ${entry.pointer}`).not.toBe("");
    }
    expect(api.store.findUserByEmail("not an email")).toBeUndefined();
    await stillServing(api, "a 400");
  });

  test("a missing field is named too: a PUT without email has the entry /email", async () => {
    const api = await startApi();
    const { problem } = await problemOf(api, "PUT", "/users/123", 400, "validation", {
      body: { name: "Ada King" },
    });
    expect(problem.errors?.map((e) => e.pointer)).toEqual(["/email"]);
  });

  test('a merge patch that sets a field to null is 400 with the entry /name, and one that is not an object has the pointer ""', async () => {
    const api = await startApi();
    const nulled = await problemOf(api, "PATCH", "/users/123", 400, "validation", {
      headers: MERGE_PATCH,
      body: '{"name":null}',
    });
    expect(nulled.problem.errors?.map((e) => e.pointer)).toEqual(["/name"]);
    const list = await problemOf(api, "PATCH", "/users/123", 400, "validation", {
      headers: MERGE_PATCH,
      body: "[1]",
    });
    expect(
      list.problem.errors?.map((e) => e.pointer),
      'RFC 6901 §5: "" is the whole document; RFC 7396 §2: a patch that is not an object would replace the whole user',
    ).toEqual([""]);
    expect(api.store.getUser("123")).toEqual(ADA);
  });

  test("invalidParams() writes a JSON Pointer for every path, with ~ as ~0 and / as ~1 (RFC 6901 §3)", () => {
    const error = UserInputSchema.safeParse({
      name: "Ada",
      email: "ada@example.com",
      "a/b": 1,
      "m~n": 2,
    }).error;
    expect(error, "the schema refuses unknown members").toBeDefined();
    const params = invalidParams(error as NonNullable<typeof error>);
    expect(params.map((p) => p.pointer).sort()).toEqual(["/a~1b", "/m~0n"]);
  });

  test("a body that is not JSON is 400 malformed-json, and the server goes on", async () => {
    const api = await startApi();
    const { problem } = await problemOf(api, "POST", "/users", 400, "malformed-json", {
      headers: { "content-type": "application/json" },
      body: '{"name":"Ada",',
    });
    expect(problem.errors).toBeUndefined();
    await stillServing(api, "a body that is not JSON");
  });

  test("a POST body that is not application/json is 415 with Accept-Post: application/json", async () => {
    const api = await startApi();
    const { reply, sent } = await problemOf(api, "POST", "/users", 415, "unsupported-media-type", {
      headers: { "content-type": "text/plain" },
      body: '{"name":"Grace","email":"grace@example.com"}',
    });
    expect(
      reply.headers.get("accept-post"),
      `RFC 9110 §15.5.16: say which media types would have been taken (Accept-Post, W3C LDP §7.1).\n${described(sent, reply)}`,
    ).toBe("application/json");
    expect(api.store.findUserByEmail("grace@example.com"), "nothing was created").toBeUndefined();
    await stillServing(api, "a 415");
  });

  test("a body without any Content-Type is 415 too (sent as raw bytes: fetch always adds one)", async () => {
    const api = await startApi();
    const body = '{"name":"Grace","email":"grace@example.com"}';
    const host = new URL(api.base).host;
    const head = `POST /users HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}`;
    const reply = await rawExchange(api, head, body);
    expect(reply, "a body the server cannot know the type of is refused").toMatch(
      /^HTTP\/1\.1 415 /,
    );
    expect(reply).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(api.store.findUserByEmail("grace@example.com")).toBeUndefined();
  });

  test("an empty body (Content-Length: 0), with or without a Content-Type, is 400 validation, not 415", async () => {
    const api = await startApi();
    const host = new URL(api.base).host;
    for (const type of ["", "\r\nContent-Type: application/json"]) {
      const head = `POST /users HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0${type}`;
      const reply = await rawExchange(api, head);
      const why = `README Step 2: a request with no body at all is a missing user, for validation to refuse (400); there is no media type to be wrong.\n  sent:     ${show(`${head}\r\nConnection: close\r\n\r\n`)}\n  received: ${show(reply, 600)}`;
      expect(reply, why).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply, why).toMatch(/\r\ncontent-type: application\/problem\+json/i);
      expect(reply, why).toMatch(/"type":"[^"]*\/validation"/);
    }
    await stillServing(api, "an empty body");
  });

  test("a media type is matched without case: Application/JSON; charset=UTF-8 is JSON (RFC 9110 §8.3.1)", async () => {
    const api = await startApi();
    const reply = await request(api, "POST", "/users", {
      headers: { "content-type": "Application/JSON; charset=UTF-8" },
      body: '{"name":"Grace","email":"grace@example.com"}',
    });
    expect(
      reply.status,
      described("POST /users with Content-Type: Application/JSON; charset=UTF-8", reply),
    ).toBe(201);
  });

  test("PATCH with application/json is 415 with Accept-Patch: a JSON body is not a merge patch", async () => {
    const api = await startApi();
    const { reply, sent } = await problemOf(
      api,
      "PATCH",
      "/users/123",
      415,
      "unsupported-media-type",
      {
        body: { name: "Ada King" },
      },
    );
    expect(
      reply.headers.get("accept-patch"),
      `RFC 5789 §2.2: a patch document in a format the server does not take is 415, with Accept-Patch.\n${described(sent, reply)}`,
    ).toBe("application/merge-patch+json");
    expect(api.store.getUser("123"), "the user is unchanged").toEqual(ADA);
  });

  test("PUT with text/plain is 415 with Accept: application/json", async () => {
    const api = await startApi();
    const { reply } = await problemOf(api, "PUT", "/users/123", 415, "unsupported-media-type", {
      headers: { "content-type": "text/plain" },
      body: '{"name":"Ada King","email":"ada@example.com"}',
    });
    expect(reply.headers.get("accept")).toBe("application/json");
    expect(api.store.getUser("123")).toEqual(ADA);
  });

  test("an Accept that takes no JSON is 406; */*, application/*, either JSON type and any case are served", async () => {
    const api = await startApi();
    for (const accept of ["text/html", "application/xml, text/*;q=0.9", "application/json;q=0"]) {
      await problemOf(api, "GET", "/users/123", 406, "not-acceptable", { headers: { accept } });
    }
    for (const accept of [
      "*/*",
      "application/*",
      "application/json",
      "Application/JSON",
      "application/problem+json",
      "text/html, application/json;q=0.5",
    ]) {
      const reply = await request(api, "GET", "/users/123", { headers: { accept } });
      expect(
        reply.status,
        `Accept: ${accept} takes JSON (media types are compared without case, RFC 9110 §8.3.1; q=0 alone means "not acceptable", §12.4.2).\n${described("GET /users/123", reply)}`,
      ).toBe(200);
    }
  });

  test("a method the resource lacks is 405 with an Allow header listing the methods it has", async () => {
    const api = await startApi();
    const cases: [method: string, path: string, has: string[]][] = [
      ["DELETE", "/users", ["GET", "POST"]],
      ["POST", "/users/123", ["GET", "PUT", "PATCH", "DELETE"]],
      ["PUT", "/users/123/orders", ["GET"]],
      ["DELETE", "/users/123/reviews", ["GET"]],
    ];
    for (const [method, path, has] of cases) {
      const { reply, sent } = await problemOf(api, method, path, 405, "method-not-allowed");
      const allow = allowed(reply.headers.get("allow"));
      const why = `RFC 9110 §15.5.6: a 405 MUST have Allow, the methods the resource has.\n${described(sent, reply)}`;
      for (const m of has) expect(allow, why).toContain(m);
      expect(allow, why).not.toContain(method);
    }
    expect(api.store.getUser("123")).toEqual(ADA);
    await stillServing(api, "a 405");
  });

  test("every problem says Cache-Control: no-store: it describes one request, and no cache may answer another with it", async () => {
    const store = createStore({
      onQuery(name) {
        if (name === "listUsers") throw new Error("the disk is full");
      },
    });
    const api = await startApi({ store });
    const cases: [
      method: string,
      path: string,
      status: number,
      type: string,
      init?: RequestInit,
    ][] = [
      ["POST", "/users", 400, "validation", { body: { name: "" } }],
      ["GET", "/users/999", 404, "not-found"],
      ["DELETE", "/users", 405, "method-not-allowed"],
      ["GET", "/users/123", 406, "not-acceptable", { headers: { accept: "text/html" } }],
      [
        "PUT",
        "/users/123",
        415,
        "unsupported-media-type",
        { headers: { "content-type": "text/plain" }, body: "Ada" },
      ],
      ["GET", "/users", 500, "internal"],
    ];
    for (const [method, path, status, type, init] of cases) {
      const { reply, sent } = await problemOf(api, method, path, status, type, init);
      expect(
        reply.headers.get("cache-control"),
        `A problem is about the request it answers: Cache-Control: no-store (RFC 9111 §5.2.2.5), so that no cache keeps it and answers the next request with it.\n${described(sent, reply)}`,
      ).toMatch(/(^|,)\s*no-store\s*(,|$)/i);
    }
  });

  test("OPTIONS is 204 with an Allow listing exactly the resource's methods, HEAD and OPTIONS among them, and Accept-Patch where PATCH is one", async () => {
    const api = await startApi();
    const cases: [path: string, has: string[]][] = [
      ["/users", ["GET", "HEAD", "POST", "OPTIONS"]],
      ["/users/123", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]],
      ["/users/123/orders", ["GET", "HEAD", "OPTIONS"]],
      ["/users/123/reviews", ["GET", "HEAD", "OPTIONS"]],
    ];
    for (const [path, has] of cases) {
      const reply = await request(api, "OPTIONS", path);
      const why = `RFC 9110 §9.3.7: OPTIONS asks what the resource can do; the answer is 204 with Allow, the same list a 405 on it gives (HEAD wherever GET is, §9.3.2, and OPTIONS itself): ${has.join(", ")}.\n${described(`OPTIONS ${path}`, reply)}`;
      expect(reply.status, why).toBe(204);
      expect(allowed(reply.headers.get("allow")).sort(), why).toEqual([...has].sort());
      expect(
        reply.headers.get("accept-patch"),
        `RFC 5789 §3.1: Accept-Patch "SHOULD appear in the OPTIONS response" of a resource that takes PATCH, naming the patch formats it takes.\n${described(`OPTIONS ${path}`, reply)}`,
      ).toBe(has.includes("PATCH") ? "application/merge-patch+json" : null);
    }
  });

  test("a missing resource and an unknown path are 404 problems", async () => {
    const api = await startApi();
    await problemOf(api, "GET", "/users/999", 404, "not-found");
    await problemOf(api, "DELETE", "/users/999", 404, "not-found");
    await problemOf(api, "GET", "/nowhere", 404, "not-found");
    await problemOf(api, "GET", "/users/123/friends", 404, "not-found");
  });

  test("an email another user has is 409 on POST, PUT and PATCH; a user keeping its own email is not a conflict", async () => {
    const api = await startApi();
    const bob = api.store.getUser("124") as User;
    await problemOf(api, "POST", "/users", 409, "conflict", {
      body: { name: "Ada 2", email: ADA.email },
    });
    await problemOf(api, "PUT", "/users/124", 409, "conflict", {
      body: { name: bob.name, email: ADA.email },
    });
    await problemOf(api, "PATCH", "/users/124", 409, "conflict", {
      headers: MERGE_PATCH,
      body: JSON.stringify({ email: ADA.email }),
    });
    expect(api.store.getUser("124"), "user 124 is unchanged").toEqual(bob);
    const own = await request(api, "PUT", "/users/123", {
      body: { name: "Ada", email: ADA.email },
    });
    expect(own.status, described("PUT /users/123 with Ada's own email", own)).toBe(200);
  });

  test("a body over maxBodyBytes is 413, and the server goes on", async () => {
    const api = await startApi({ maxBodyBytes: 1_000 });
    const big = JSON.stringify({ name: "x".repeat(2_000), email: "big@example.com" });
    await problemOf(api, "POST", "/users", 413, "too-large", {
      headers: { "content-type": "application/json" },
      body: big,
    });
    expect(api.store.findUserByEmail("big@example.com")).toBeUndefined();
    await stillServing(api, "a 413");
  });

  test("the default limit is 16,384 bytes: a 20,000-byte body is 413, a body under it is read", async () => {
    const api = await startApi();
    const big = JSON.stringify({ name: "x".repeat(20_000), email: "big@example.com" });
    await problemOf(api, "POST", "/users", 413, "too-large", {
      headers: { "content-type": "application/json" },
      body: big,
    });
    const padded = `{"name":"Grace","email":"grace@example.com"}${" ".repeat(10_000)}`;
    const reply = await request(api, "POST", "/users", {
      headers: { "content-type": "application/json" },
      body: padded,
    });
    expect(reply.status, described("POST /users with 10,044 bytes", reply)).toBe(201);
  });

  test("a bad query is 400 naming the parameter: limit=0, limit=abc, limit=101, a garbage cursor, last=0", async () => {
    const api = await startApi();
    const cases: [path: string, parameter: string][] = [
      ["/users?limit=0", "limit"],
      ["/users?limit=abc", "limit"],
      ["/users?limit=101", "limit"],
      ["/users?cursor=not-a-cursor", "cursor"],
      ["/users?cursor=", "cursor"],
      ["/users/123/orders?last=0", "last"],
    ];
    for (const [path, parameter] of cases) {
      const { problem, sent, reply } = await problemOf(api, "GET", path, 400, "validation");
      const why = described(sent, reply);
      expect(
        problem.errors?.map((e) => e.pointer),
        `the entry names the query parameter.\n${why}`,
      ).toEqual([parameter]);
      expect(
        problem.detail,
        `A bad query's detail names its parameter as well (README Step 2: "The query parameter ${parameter} is not valid"), so that a client reading only the detail knows what to fix.\n${why}`,
      ).toContain(parameter);
    }
    await stillServing(api, "a bad query");
  });

  test("an unexpected error is a 500 problem with an instance id the log has, and no message or stack", async () => {
    const secret = "connection to db.internal:5432 refused";
    let failing = true;
    const store = createStore({
      onQuery(name) {
        if (failing && name === "getUser") throw new Error(secret);
      },
    });
    const api = await startApi({ store });
    const { problem, reply, sent } = await problemOf(api, "GET", "/users/123", 500, "internal");
    const why = described(sent, reply);
    for (const leak of [secret, "db.internal", "Error:", "    at ", "store.ts", "onQuery"]) {
      expect(
        reply.text,
        `Nothing of the error may reach the client: ${JSON.stringify(leak)}. A 500's detail must not carry the error's message or stack: it names the id in instance, and the log alone has the error (RFC 9457 §5).\n${why}`,
      ).not.toContain(leak);
    }
    expect(
      problem.instance,
      `the 500 names an id to find it by: instance urn:error:<id>.\n${why}`,
    ).toMatch(/^urn:error:\S+$/);
    expect(api.log, "the error is logged once, with the id the client got").toHaveLength(1);
    expect(`urn:error:${api.log[0]?.id}`).toBe(problem.instance);
    expect((api.log[0]?.error as Error).message, "the log has the error itself").toBe(secret);
    failing = false;
    await stillServing(api, "a 500");
  });

  test("each 500 gets its own id, also when what was thrown is not an Error", async () => {
    const store = createStore({
      onQuery(name) {
        if (name === "listUsers") throw "the disk is full";
      },
    });
    const api = await startApi({ store });
    const one = await problemOf(api, "GET", "/users", 500, "internal");
    const two = await problemOf(api, "GET", "/users", 500, "internal");
    expect(one.reply.text).not.toContain("disk");
    expect(one.problem.instance).not.toBe(two.problem.instance);
    expect(api.log.map((entry) => `urn:error:${entry.id}`)).toEqual([
      one.problem.instance,
      two.problem.instance,
    ]);
    expect(api.log[0]?.error).toBe("the disk is full");
  });

  test("a write that fails unexpectedly is a 500 problem too, and nothing half-done is left", async () => {
    const store = createStore({
      onQuery(name) {
        if (name === "createUser") throw new Error("write failed");
      },
    });
    const api = await startApi({ store });
    const { reply, sent } = await problemOf(api, "POST", "/users", 500, "internal", {
      body: { name: "Grace", email: "grace@example.com" },
    });
    const why = described(sent, reply);
    expect(reply.headers.get("location"), `no Location: nothing was created.\n${why}`).toBeNull();
    expect(
      reply.text,
      `A 500's detail must not carry the error's message ("write failed"): the client gets an id in instance, and the message goes to the log only, under that id (RFC 9457 §5).\n${why}`,
    ).not.toContain("write failed");
  });
});
