import { describe, expect, expectTypeOf, test } from "vitest";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import {
  createCallerFactory,
  createContext,
  DEFAULT_TOKENS,
  protectedProcedure,
  router,
} from "#lesson/lesson-11-trpc/trpc.ts";
import { callerFor, outcome, rejection, unwrapStub } from "./calls.ts";

const ADA = { id: "123", name: "Ada Lovelace", email: "ada.lovelace.123@example.com" };

/** The user createContext finds in a request with this Authorization header (undefined: none). */
function userFor(authorization: string | undefined, tokens?: Record<string, string>): unknown {
  const headers = authorization === undefined ? {} : { authorization };
  const options = { store: createStore(), feed: new MessageFeed(), ...(tokens ? { tokens } : {}) };
  return createContext({ headers }, options).user;
}

describe("Step 1: Procedures, input and context", () => {
  describe("createContext", () => {
    test("Authorization: Bearer demo-token names the user demo, beside the store and the feed", () => {
      const store = createStore();
      const feed = new MessageFeed();
      const ctx = createContext(
        { headers: { authorization: "Bearer demo-token" } },
        { store, feed },
      );
      expect(ctx.user, "DEFAULT_TOKENS says demo-token is demo").toBe(DEFAULT_TOKENS["demo-token"]);
      expect(ctx.store, "the context carries the server's store").toBe(store);
      expect(ctx.feed, "the context carries the server's feed").toBe(feed);
    });

    test("the scheme is case-insensitive: bearer and BEARER are Bearer (RFC 9110 §11.1)", () => {
      expect(
        userFor("Bearer  demo-token"),
        "auth-scheme 1*SP token68 (RFC 9110 §11.4): one space or more after the scheme",
      ).toBe("demo");
      for (const scheme of ["bearer", "BEARER", "beArer"]) {
        expect(
          userFor(`${scheme} demo-token`),
          `Authorization: ${scheme} demo-token: "It uses a case-insensitive token as a means to identify the authentication scheme" (RFC 9110 §11.1)`,
        ).toBe("demo");
      }
    });

    test("no header, another scheme, a token nobody was given, or none at all: no user", () => {
      for (const header of [
        undefined,
        "Basic ZGVtbzpkZW1vLXRva2Vu",
        "demo-token",
        "Bearer",
        "Bearer ",
        "Bearer nope",
        "Bearer Demo-Token",
        "Bearerdemo-token",
        "Basic demo-token",
        "Token demo-token",
        "Token Bearer demo-token",
        "Bearer demo-token more",
        "Bearer demo-token, Bearer demo-token",
      ]) {
        expect(
          userFor(header),
          `Authorization: ${header ?? "(none)"} names nobody: the user is null`,
        ).toBeNull();
      }
    });

    test("a token called __proto__, constructor or toString is one nobody was given", () => {
      for (const token of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
        expect(
          userFor(`Bearer ${token}`),
          `Bearer ${token}: the token comes from the wire; look it up among the table's own entries (Object.hasOwn), not what every object inherits`,
        ).toBeNull();
      }
    });

    test("the tokens option replaces DEFAULT_TOKENS", () => {
      const tokens = { "s3cret-t0ken": "grace" };
      expect(userFor("Bearer s3cret-t0ken", tokens)).toBe("grace");
      expect(
        userFor("Bearer demo-token", tokens),
        "a server given its own tokens accepts only those",
      ).toBeNull();
    });
  });

  describe("user.getUser", () => {
    test("answers the store's user 123", async () => {
      const { caller } = callerFor({ authorization: null });
      expect(await outcome(() => caller.user.getUser({ id: "123" }))).toEqual(ADA);
    });

    test("a user the store does not have is TRPCError NOT_FOUND, not data", async () => {
      const { caller } = callerFor({ authorization: null });
      const error = await rejection(
        () => caller.user.getUser({ id: "999" }),
        "TRPCError NOT_FOUND for user 999: throw it, a null or undefined result is a success (HTTP 200) to every client",
      );
      expect(error.code, error.message).toBe("NOT_FOUND");
    });

    test("an id that is not digits is BAD_REQUEST, and the store is never asked", async () => {
      const { caller, store } = callerFor({ authorization: null });
      const error = await rejection(
        () => caller.user.getUser({ id: "abc" }),
        "BAD_REQUEST: IdSchema refuses the input before the resolver runs",
      );
      expect(error.code, error.message).toBe("BAD_REQUEST");
      expect(store.queryLog, "the input is refused before any resolver runs").toEqual([]);
    });
  });

  describe("user.list", () => {
    test("with no input, the first 20 users in id order, and the cursor of the next page", async () => {
      const { caller, store } = callerFor({ authorization: null });
      const page = await outcome(() => caller.user.list());
      expect(page.items.map((user) => user.id)).toEqual(
        Array.from({ length: 20 }, (_, i) => String(101 + i)),
      );
      expect(page.items[0], "each item is the store's user").toEqual(store.getUser("101"));
      expect(page.nextCursor, "nextCursor names the page's last user: 120").toBe("120");
    });

    test("following nextCursor gives every user once, in order, and null after the last", async () => {
      const { caller } = callerFor({ authorization: null });
      const seen: string[] = [];
      const cursors: (string | null)[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await outcome(() =>
          caller.user.list(cursor === undefined ? { limit: 3 } : { limit: 3, cursor }),
        );
        seen.push(...page.items.map((user) => user.id));
        cursors.push(page.nextCursor);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen, `pages of 3, cursors ${JSON.stringify(cursors)}`).toEqual(
        Array.from({ length: 40 }, (_, i) => String(101 + i)),
      );
      expect(cursors.at(-1), "the last page's nextCursor is null").toBeNull();
    });

    test("a last page that is exactly full has no next cursor: a full page does not prove another", async () => {
      const { caller } = callerFor({ authorization: null });
      const page = await outcome(() => caller.user.list({ limit: 20, cursor: "120" }));
      expect(page.items.map((user) => user.id).at(-1)).toBe("140");
      expect(
        page.nextCursor,
        "users 121..140 are the last 20: no user follows, so nextCursor is null (ask the store for one more than the page to know)",
      ).toBeNull();
    });

    test("a limit outside 1 to 100 is BAD_REQUEST", async () => {
      const { caller } = callerFor({ authorization: null });
      for (const limit of [0, 101, 2.5]) {
        const error = await rejection(
          () => caller.user.list({ limit }),
          `BAD_REQUEST for limit ${limit}`,
        );
        expect(error.code, `limit ${limit}: ${error.message}`).toBe("BAD_REQUEST");
      }
    });
  });

  describe("user.createUser", () => {
    test("with a token, creates the user from the parsed input: the next id, the name trimmed", async () => {
      const { caller, store } = callerFor();
      const user = await outcome(() =>
        caller.user.createUser({ name: "  Eve  ", email: "eve@example.com" }),
      );
      expect(user).toEqual({ id: "141", name: "Eve", email: "eve@example.com" });
      expect(store.getUser("141"), "the user is in the store").toEqual(user);
    });

    test("without a token it is UNAUTHORIZED, and nothing is stored", async () => {
      for (const authorization of [null, "Bearer nope"]) {
        const { caller, store } = callerFor({ authorization });
        const error = await rejection(
          () => caller.user.createUser({ name: "Eve", email: "eve@example.com" }),
          `UNAUTHORIZED with Authorization: ${authorization ?? "(none)"}: createUser is built on protectedProcedure, whose middleware refuses a context without a user`,
        );
        expect(error.code, error.message).toBe("UNAUTHORIZED");
        expect(store.findUserByEmail("eve@example.com"), "nothing may be written").toBeUndefined();
      }
    });

    test("an email another user has is CONFLICT, and the store is unchanged", async () => {
      const { caller, store } = callerFor();
      const error = await rejection(
        () => caller.user.createUser({ name: "Ada Again", email: ADA.email }),
        "CONFLICT: the store throws StoreError STORE_EMAIL_TAKEN for an email user 123 has",
      );
      expect(error.code, error.message).toBe("CONFLICT");
      expect(store.getUser("141"), "no user was created").toBeUndefined();
    });

    test("a store that fails is INTERNAL_SERVER_ERROR, its error the cause: only a taken email is CONFLICT", async () => {
      const gone = new Error("the database went away");
      const store = createStore({
        onQuery: (name) => {
          if (name === "createUser") throw gone;
        },
      });
      const { caller } = callerFor({ store });
      const error = await rejection(
        () => caller.user.createUser({ name: "Eve", email: "eve@example.com" }),
        "INTERNAL_SERVER_ERROR: an error that is not StoreError STORE_EMAIL_TAKEN is rethrown as it is",
      );
      expect(error.code, error.message).toBe("INTERNAL_SERVER_ERROR");
      expect(error.cause, "tRPC keeps what the resolver threw as the cause").toBe(gone);
    });

    test("input that UserInputSchema refuses is BAD_REQUEST, checked after the token", async () => {
      const { caller, store } = callerFor();
      const error = await rejection(
        () => caller.user.createUser({ name: "   ", email: "not an email" }),
        "BAD_REQUEST: an empty name and an email that is not one",
      );
      expect(error.code, error.message).toBe("BAD_REQUEST");
      expect(store.getUser("141"), "no user was created").toBeUndefined();
    });
  });

  describe("protectedProcedure", () => {
    test("gives the resolver the context's user", async () => {
      const whoami = router({
        whoami: protectedProcedure.query(({ ctx }) => {
          // Checked by the type-checker: ctx.user in a protected procedure must be typed string,
          // never null. A bare next() leaves it string | null; next({ ctx: { ...ctx, user } }),
          // with the user the middleware checked, narrows it for every resolver after it.
          expectTypeOf(ctx.user).toEqualTypeOf<string>();
          return ctx.user;
        }),
      });
      const ctx = createContext(
        { headers: { authorization: "Bearer demo-token" } },
        { store: createStore(), feed: new MessageFeed() },
      );
      const user = await outcome(() => createCallerFactory(whoami)(ctx).whoami());
      expect(user, "next({ ctx }) passes the context on, its user a string").toBe("demo");
    });

    test("refuses before the resolver runs", async () => {
      let ran = false;
      const guarded = router({
        touch: protectedProcedure.mutation(() => {
          ran = true;
          return "ran";
        }),
      });
      const ctx = createContext({ headers: {} }, { store: createStore(), feed: new MessageFeed() });
      const error = await rejection(
        () => createCallerFactory(guarded)(ctx).touch(),
        "UNAUTHORIZED from the middleware",
      ).catch((caught: unknown) => {
        throw unwrapStub(caught);
      });
      expect(error.code, error.message).toBe("UNAUTHORIZED");
      expect(ran, "the resolver ran without a user").toBe(false);
    });
  });
});
