import { describe, expect, test } from "vitest";
import type { Order, Review, User } from "#lesson/lesson-08-rest/store.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { request, startApi, type Api, type Reply } from "./helpers.ts";
import { described, linkTarget } from "./replies.ts";

const ADA: User = { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };
const ALL_IDS = Array.from({ length: 40 }, (_, i) => String(101 + i));

interface Page {
  data: User[];
  next: string | null;
}

/** `reply` is a 200 application/json representation; its body. */
function representation<T>(sent: string, reply: Reply, status = 200): T {
  const why = described(sent, reply);
  expect(reply.status, `Expected ${status}.\n${why}`).toBe(status);
  expect(
    reply.headers.get("content-type"),
    `A representation is application/json.\n${why}`,
  ).toMatch(/^application\/json\s*(;|$)/i);
  return reply.json as T;
}

/**
 * Walks the whole list from `first`, following each page's `Link: <...>; rel="next"` as a client
 * does (the target resolved against the URL it came with), and calls `between` before each next
 * page. Returns the ids of every page, in order.
 */
async function walk(
  api: Api,
  first: string,
  between: (page: number) => Promise<void> = async () => {},
): Promise<string[][]> {
  const pages: string[][] = [];
  let url: string | undefined = api.base + first;
  while (url !== undefined) {
    const path = url.slice(api.base.length);
    const reply = await request(api, "GET", path);
    const page = representation<Page>(`GET ${path}`, reply);
    pages.push(page.data.map((user) => user.id));
    const next = linkTarget(reply.headers.get("link"), "next", url);
    const why = described(`GET ${path}`, reply);
    if (page.next === null) {
      expect(next, `The last page (next: null) has no Link rel="next".\n${why}`).toBeUndefined();
      break;
    }
    expect(
      next,
      `A page with more after it says where they are: Link: <...>; rel="next" (RFC 8288 §3).\n${why}`,
    ).toBeDefined();
    expect(
      next?.startsWith(`${api.base}/users?`),
      `The Link target, resolved against ${url} (RFC 3986 §5), must be this API's /users: ${next}\n${why}`,
    ).toBe(true);
    expect(
      new URL(next as string).searchParams.get("cursor"),
      `The body's next is the cursor the Link target carries.\n${why}`,
    ).toBe(page.next);
    expect(pages.length, "the walk goes on for more pages than the list can have").toBeLessThan(50);
    await between(pages.length);
    url = next;
  }
  return pages;
}

describe("Step 1: Resources and representations", () => {
  test("GET /users/123 answers 200 application/json with Ada Lovelace's representation", async () => {
    const api = await startApi();
    const user = representation<User>("GET /users/123", await request(api, "GET", "/users/123"));
    expect(user).toEqual(ADA);
  });

  test("GET /users/999 answers 404: there is no such user", async () => {
    const api = await startApi();
    const reply = await request(api, "GET", "/users/999");
    expect(reply.status, described("GET /users/999", reply)).toBe(404);
  });

  test("GET /users?limit=5 answers the first five users in id order, a cursor in next, and a Link to the next page", async () => {
    const api = await startApi();
    const reply = await request(api, "GET", "/users?limit=5");
    const page = representation<Page>("GET /users?limit=5", reply);
    expect(page.data.map((u) => u.id)).toEqual(["101", "102", "103", "104", "105"]);
    expect(page.data[0], "each item is a whole user").toEqual({
      id: "101",
      name: expect.any(String),
      email: expect.any(String),
    });
    expect(
      typeof page.next,
      `next is the cursor of the page after it.\n${described("GET /users?limit=5", reply)}`,
    ).toBe("string");
    const link = reply.headers.get("link") ?? "";
    expect(link, `Link: <target>; rel="next" (RFC 8288 §3), rel quoted or not`).toMatch(
      /^<[^>]+>\s*;\s*rel="?next"?$/,
    );
    const url = `${api.base}/users?limit=5`;
    const next = linkTarget(link, "next", url) as string;
    expect(
      next.startsWith(`${api.base}/users?`),
      `The Link target, resolved against ${url} (RFC 3986 §5), must be this API's /users: ${next}\n${described("GET /users?limit=5", reply)}`,
    ).toBe(true);
    const second = await request(api, "GET", next.slice(api.base.length));
    const page2 = representation<Page>(`GET ${next}`, second);
    expect(
      page2.data.map((u) => u.id),
      "the Link leads to the next five, with the same limit",
    ).toEqual(["106", "107", "108", "109", "110"]);
  });

  test("GET /users without limit answers 20 users, the default", async () => {
    const api = await startApi();
    const page = representation<Page>("GET /users", await request(api, "GET", "/users"));
    expect(page.data.map((u) => u.id)).toEqual(ALL_IDS.slice(0, 20));
    expect(page.next).not.toBeNull();
  });

  test("following Link rel=next from the first page lists every user once, in order; the last page has next null and no Link", async () => {
    const api = await startApi();
    const pages = await walk(api, "/users?limit=7");
    expect(
      pages.map((p) => p.length),
      "40 users, 7 a page",
    ).toEqual([7, 7, 7, 7, 7, 5]);
    expect(pages.flat()).toEqual(ALL_IDS);
  });

  test("a list whose length is a multiple of the limit ends without an empty page", async () => {
    const api = await startApi();
    const pages = await walk(api, "/users?limit=10");
    expect(
      pages.map((p) => p.length),
      "the fourth page holds the last user: it says next null, not a link to an empty fifth",
    ).toEqual([10, 10, 10, 10]);
  });

  test("a user deleted or created between pages: the cursor neither skips nor repeats anyone (an offset would)", async () => {
    const api = await startApi();
    let created = "";
    const pages = await walk(api, "/users?limit=10", async (page) => {
      if (page !== 1) return;
      // After the first page (101 to 110): two users already seen go, and one is made.
      // With ?offset=10 the next page would start at 113, and 111 and 112 would never be seen.
      for (const id of ["103", "110"]) {
        const gone = await request(api, "DELETE", `/users/${id}`);
        expect(gone.status, described(`DELETE /users/${id}`, gone)).toBe(204);
      }
      const made = await request(api, "POST", "/users", {
        body: { name: "Grace Hopper", email: "grace@example.com" },
      });
      expect(made.status, described("POST /users", made)).toBe(201);
      created = (made.json as User).id;
    });
    expect(
      pages[1]?.[0],
      "the page after 101..110 starts at 111, whatever was deleted before it",
    ).toBe("111");
    const seen = pages.flat();
    expect(
      seen,
      "every user once, in order: the first page as it was, then the rest as they are now",
    ).toEqual([...ALL_IDS.slice(0, 10), ...ALL_IDS.slice(10), created]);
  });

  test("POST /users answers 201 with a Location of the new user and its representation", async () => {
    const api = await startApi();
    const sent = { name: "Grace Hopper", email: "grace@example.com" };
    const reply = await request(api, "POST", "/users", { body: sent });
    const user = representation<User>(`POST /users ${JSON.stringify(sent)}`, reply, 201);
    expect(user).toEqual({ id: expect.stringMatching(/^[0-9]+$/), ...sent });
    const location = reply.headers.get("location");
    expect(
      location,
      `201 Created names the new resource in Location (RFC 9110 §15.3.2).\n${described("POST /users", reply)}`,
    ).not.toBeNull();
    const url = new URL(location as string, `${api.base}/users`);
    expect(url.href, "Location, resolved against the request's URL, is the user's own URL").toBe(
      `${api.base}/users/${user.id}`,
    );
    const again = await request(api, "GET", url.pathname);
    expect(
      representation<User>(`GET ${url.pathname}`, again),
      "GET Location gives what the 201 gave",
    ).toEqual(user);
    expect(api.store.getUser(user.id), "the store has it").toEqual(user);
  });

  test("POST /users twice makes two users with two ids", async () => {
    const api = await startApi();
    const one = await request(api, "POST", "/users", {
      body: { name: "A", email: "a@example.com" },
    });
    const two = await request(api, "POST", "/users", {
      body: { name: "B", email: "b@example.com" },
    });
    expect(one.status).toBe(201);
    expect(two.status).toBe(201);
    expect((one.json as User).id).not.toBe((two.json as User).id);
  });

  test("PUT /users/123 replaces the whole user and answers 200 with it", async () => {
    const api = await startApi();
    const sent = { name: "Augusta Ada King", email: "ada@example.com" };
    const reply = await request(api, "PUT", "/users/123", { body: sent });
    expect(representation<User>(`PUT /users/123 ${JSON.stringify(sent)}`, reply)).toEqual({
      id: "123",
      ...sent,
    });
    const now = representation<User>("GET /users/123", await request(api, "GET", "/users/123"));
    expect(now).toEqual({ id: "123", ...sent });
  });

  test("PUT is the whole new state: a PUT without email is refused, not merged with the old email", async () => {
    const api = await startApi();
    const reply = await request(api, "PUT", "/users/123", { body: { name: "Ada King" } });
    expect(
      reply.status,
      `RFC 9110 §9.3.4: PUT replaces the state with the one enclosed; a user without an email is not a user.\n${described('PUT /users/123 {"name":"Ada King"}', reply)}`,
    ).toBe(400);
    expect(api.store.getUser("123"), "the user is as it was").toEqual(ADA);
  });

  test("PUT twice with the same body leaves the same user and gets the same answer (idempotent)", async () => {
    const api = await startApi();
    const sent = { name: "Augusta Ada King", email: "ada@example.com" };
    const first = await request(api, "PUT", "/users/123", { body: sent });
    const stateAfterOne = api.store.getUser("123");
    const second = await request(api, "PUT", "/users/123", { body: sent });
    expect(second.status, described("the second PUT", second)).toBe(first.status);
    expect(second.text, "RFC 9110 §9.2.2: the same request twice has the effect of once").toBe(
      first.text,
    );
    expect(api.store.getUser("123")).toEqual(stateAfterOne);
    expect(api.store.getUser("123")).toEqual({ id: "123", ...sent });
  });

  test("PUT to an id the server never gave answers 404 and creates nothing: ids are the server's to give", async () => {
    const api = await startApi();
    const reply = await request(api, "PUT", "/users/999", {
      body: { name: "Nobody", email: "nobody@example.com" },
    });
    expect(reply.status, described("PUT /users/999", reply)).toBe(404);
    expect(api.store.getUser("999")).toBeUndefined();
    expect(api.store.findUserByEmail("nobody@example.com")).toBeUndefined();
  });

  test("PATCH with application/merge-patch+json changes the members it has and keeps the others (RFC 7396)", async () => {
    const api = await startApi();
    const reply = await request(api, "PATCH", "/users/123", {
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ name: "Ada King" }),
    });
    const user = representation<User>('PATCH /users/123 {"name":"Ada King"}', reply);
    expect(user, "the email was not in the patch: it stays").toEqual({ ...ADA, name: "Ada King" });
    expect(api.store.getUser("123")).toEqual({ ...ADA, name: "Ada King" });
    const empty = await request(api, "PATCH", "/users/123", {
      headers: { "content-type": "application/merge-patch+json" },
      body: "{}",
    });
    expect(
      representation<User>("PATCH /users/123 {}", empty),
      "an empty patch changes nothing",
    ).toEqual({
      ...ADA,
      name: "Ada King",
    });
  });

  test("PATCH with null for a required field is refused with 400, and the user keeps it", async () => {
    const api = await startApi();
    const reply = await request(api, "PATCH", "/users/123", {
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ email: null }),
    });
    expect(
      reply.status,
      `In a merge patch null removes the member (RFC 7396 §2), and a user cannot lose its email.\n${described('PATCH /users/123 {"email":null}', reply)}`,
    ).toBe(400);
    expect(api.store.getUser("123")).toEqual(ADA);
  });

  test("DELETE /users/123 answers 204 with no body; then GET and a second DELETE are 404", async () => {
    const api = await startApi();
    const gone = await request(api, "DELETE", "/users/123");
    expect(gone.status, described("DELETE /users/123", gone)).toBe(204);
    expect(gone.text, "204 No Content has no content").toBe("");
    const get = await request(api, "GET", "/users/123");
    expect(get.status, described("GET /users/123 after the DELETE", get)).toBe(404);
    const again = await request(api, "DELETE", "/users/123");
    expect(
      again.status,
      `The user is gone: a second DELETE finds nothing to delete (the state is the same, the answer says so).\n${described("DELETE /users/123, again", again)}`,
    ).toBe(404);
    const orders = await request(api, "GET", "/users/123/orders");
    expect(orders.status, "its orders went with it").toBe(404);
  });

  test("GET /users/123/orders answers all eight orders, oldest first; ?last=5 the five most recent", async () => {
    const api = await startApi();
    const all = representation<Order[]>(
      "GET /users/123/orders",
      await request(api, "GET", "/users/123/orders"),
    );
    expect(all).toEqual(api.store.ordersOf("123"));
    expect(all).toHaveLength(8);
    const placed = all.map((o) => o.placedAt);
    expect(placed, "oldest first").toEqual([...placed].sort());
    const last = representation<Order[]>(
      "GET /users/123/orders?last=5",
      await request(api, "GET", "/users/123/orders?last=5"),
    );
    expect(
      last.map((o) => o.id),
      "the five most recent, still oldest first",
    ).toEqual(all.slice(3).map((o) => o.id));
  });

  test("GET /users/123/reviews answers Ada's three reviews; an unknown user's reviews and orders are 404", async () => {
    const api = await startApi();
    const reviews = representation<Review[]>(
      "GET /users/123/reviews",
      await request(api, "GET", "/users/123/reviews"),
    );
    expect(reviews).toEqual(api.store.reviewsOf("123"));
    expect(reviews).toHaveLength(3);
    for (const path of ["/users/999/reviews", "/users/999/orders"]) {
      const reply = await request(api, "GET", path);
      expect(
        reply.status,
        `An empty list would say user 999 has no reviews; there is no user 999.\n${described(`GET ${path}`, reply)}`,
      ).toBe(404);
    }
  });

  test("HEAD answers as GET does, without the body: the same status, Content-Type, Content-Length and Link", async () => {
    const api = await startApi();
    for (const path of ["/users/123", "/users?limit=2", "/users/123/orders", "/users/999"]) {
      const get = await request(api, "GET", path);
      const head = await request(api, "HEAD", path);
      const why = described(`HEAD ${path}`, head);
      expect(head.status, why).toBe(get.status);
      expect(head.text, `RFC 9110 §9.3.2: no content in a response to HEAD.\n${why}`).toBe("");
      for (const name of ["content-type", "content-length", "link"]) {
        expect(head.headers.get(name), `${name}, as the GET has it.\n${why}`).toBe(
          get.headers.get(name),
        );
      }
    }
  });

  testWithTool("curl", "apt-get install curl, or brew install curl")(
    "curl: POST with -d makes a user (201, Location), and -i shows a page's Link header",
    async () => {
      const api = await startApi();
      const created = await run("curl", [
        "-si",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"name":"Grace Hopper","email":"grace@example.com"}',
        `${api.base}/users`,
      ]);
      expect(created.stdout, "curl printed").toMatch(/^HTTP\/1\.1 201 /);
      const location = /\r\nLocation: (.*)\r\n/i.exec(created.stdout)?.[1];
      expect(
        location && new URL(location, `${api.base}/users`).href,
        `201 Created names the new user in Location, resolved against the request's URL (RFC 9110 §10.2.2): ${api.base}/users/141.\ncurl printed:\n${created.stdout}`,
      ).toBe(`${api.base}/users/141`);
      expect(created.stdout).toMatch(
        /\r\n\r\n\{"id":"141","name":"Grace Hopper","email":"grace@example.com"\}$/,
      );
      const page = await run("curl", ["-si", `${api.base}/users?limit=2`]);
      const link = /\r\nLink: (.*)\r\n/i.exec(page.stdout)?.[1] ?? null;
      const next = linkTarget(link, "next", `${api.base}/users?limit=2`);
      expect(next, `curl printed:\n${page.stdout}`).toBeDefined();
      const second = await run("curl", ["-s", next as string]);
      expect((JSON.parse(second.stdout) as Page).data.map((u) => u.id)).toEqual(["103", "104"]);
    },
  );
});
