import { describe, expect, test } from "vitest";
import type { HttpRequest } from "#lesson/lesson-03-http/parser.ts";
import type { HttpResponse } from "#lesson/lesson-03-http/response.ts";
import { createProfileApi, seedProfiles } from "#lesson/lesson-03-http/routes.ts";

/** A parsed request, as the parser would hand it to the routes. */
function request(method: string, target: string, body: string | Buffer = ""): HttpRequest {
  return {
    method,
    target,
    version: "HTTP/1.1",
    headers: { host: "example.com" },
    body: Buffer.from(body),
  };
}

/** A header field of a response, by name, in any case: field names are case-insensitive. */
function field(response: HttpResponse, name: string): string | undefined {
  const entries = Object.entries(response.headers ?? {});
  return entries.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

function bodyOf(response: HttpResponse): unknown {
  return JSON.parse(Buffer.from(response.body ?? "").toString("utf8"));
}
describe("Step 3: Serve GET requests, one per connection", () => {
  test("answers GET /profile/123 with 200 and the profile as JSON", () => {
    const response = createProfileApi()(request("GET", "/profile/123"));
    expect(response.status).toBe(200);
    expect(field(response, "content-type")).toBe("application/json");
    expect(bodyOf(response)).toEqual(seedProfiles().get(123));
  });

  test("answers an unknown profile id with 404 and a JSON error", () => {
    const response = createProfileApi()(request("GET", "/profile/999"));
    expect(response.status).toBe(404);
    expect(bodyOf(response)).toMatchObject({ error: expect.any(String) });
  });

  test("answers HEAD like GET; the response writer leaves out the body", () => {
    const api = createProfileApi();
    expect(api(request("HEAD", "/profile/123"))).toEqual(api(request("GET", "/profile/123")));
  });

  test("ignores the query string when matching a path", () => {
    expect(createProfileApi()(request("GET", "/profile/123?fields=name")).status).toBe(200);
  });

  test.each([
    ["DELETE", "/profile/123", "GET, HEAD"],
    ["PUT", "/profile/123", "GET, HEAD"],
    ["POST", "/profile/123", "GET, HEAD"],
    ["GET", "/profile", "POST"],
  ])(
    "answers %s %s with 405 and an Allow header listing %s (RFC 9110 §15.5.6)",
    (method, target, allow) => {
      const response = createProfileApi()(request(method, target));
      expect(response.status).toBe(405);
      expect(field(response, "allow"), "the Allow header (RFC 9110 §10.2.1)").toBe(allow);
    },
  );

  test.each(["BREW", "get", "FETCH"])(
    "answers the unknown method %s with 501 (methods are case-sensitive)",
    (method) => {
      expect(createProfileApi()(request(method, "/profile/123")).status).toBe(501);
    },
  );

  test("serves the seeded profiles, 123 with non-ASCII text", () => {
    const api = createProfileApi();
    expect(bodyOf(api(request("GET", "/profile/123")))).toMatchObject({
      id: 123,
      name: "Zoë Ångström",
    });
    expect(bodyOf(api(request("GET", "/profile/124")))).toMatchObject({
      id: 124,
      name: "Ada Lovelace",
    });
  });

  test.each(["/x/profile/123", "/profile/123/extra", "/profile/12a"])(
    "answers %s with 404: the path must be exactly /profile/<digits>",
    (target) => {
      expect(createProfileApi()(request("GET", target)).status).toBe(404);
    },
  );

  test.each([
    ["BREW", "/profile/123", 501],
    ["GET", "/nowhere", 404],
    ["DELETE", "/profile/123", 405],
  ])("answers %s %s with %d and a JSON body that says why", (method, target, status) => {
    const response = createProfileApi()(request(method, target));
    expect(response.status).toBe(status);
    expect(bodyOf(response)).toMatchObject({ error: expect.any(String) });
  });

  test("answers a path it does not know with 404", () => {
    expect(createProfileApi()(request("GET", "/profiles/123")).status).toBe(404);
  });

  test.each(["/profile/123abc", "/profile/123/", "/profile/12.3", "/xprofile/123"])(
    "matches the whole path: %s is no profile (404)",
    (target) => {
      expect(
        createProfileApi()(request("GET", target)).status,
        `${target} is not /profile/ followed by digits and nothing else: a pattern that ` +
          "matches a prefix (no ^ or $) serves a path nobody asked for",
      ).toBe(404);
    },
  );
});

describe("Step 5: Create a profile with POST", () => {
  test("creates a profile from a JSON body: 201, a Location, and it reads back", () => {
    const api = createProfileApi();
    const created = api(request("POST", "/profile", '{"name":"Grace Hopper","bio":"Ship it."}'));
    expect(created.status).toBe(201);
    const location = field(created, "location") ?? "";
    expect(location).toMatch(/^\/profile\/\d+$/);
    const read = api(request("GET", location));
    expect(bodyOf(read)).toEqual(bodyOf(created));
    expect(bodyOf(read)).toMatchObject({ name: "Grace Hopper", bio: "Ship it." });
  });

  test("decodes a body of UTF-8 bytes once, whole", () => {
    const api = createProfileApi();
    const created = api(request("POST", "/profile", Buffer.from('{"name":"Zoë Ångström"}')));
    expect(bodyOf(created)).toMatchObject({ name: "Zoë Ångström" });
  });

  test.each([
    ["a body that is not JSON", "{name: Zoë}"],
    ["a JSON body without a name", '{"bio":"no name"}'],
    ["a name that is not a string", '{"name":42}'],
    ["bytes that are not UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])],
    ["a name with a byte that is not UTF-8", Buffer.from('{"name":"Zo\xff"}', "latin1")],
    ["JSON null", "null"],
    ["a JSON string", '"Grace Hopper"'],
    ["a JSON number", "42"],
  ])("answers a POST with %s with 400", (_, body) => {
    const response = createProfileApi()(request("POST", "/profile", body));
    expect(response.status).toBe(400);
    expect(bodyOf(response)).toMatchObject({ error: expect.any(String) });
  });

  test("gives new profiles the ids after the seeded ones, in order", () => {
    const api = createProfileApi();
    const first = api(request("POST", "/profile", '{"name":"Grace Hopper"}'));
    const second = api(request("POST", "/profile", '{"name":"Alan Turing"}'));
    expect([field(first, "location"), field(second, "location")]).toEqual([
      "/profile/125",
      "/profile/126",
    ]);
    expect(bodyOf(api(request("GET", "/profile/124")))).toMatchObject({ name: "Ada Lovelace" });
  });

  test("keeps a bio only when it is a string", () => {
    const created = createProfileApi()(request("POST", "/profile", '{"name":"X","bio":42}'));
    expect(created.status).toBe(201);
    expect(bodyOf(created)).not.toHaveProperty("bio");
  });
});
