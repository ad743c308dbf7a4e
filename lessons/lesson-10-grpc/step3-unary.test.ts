import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { closeAfterTest } from "#shared/testing/grpc.ts";
import { within } from "#shared/testing/patience.ts";
import {
  ended,
  replyOf,
  startService,
  statusName,
  statusOf,
  withToken,
  type Started,
} from "./service-helpers.ts";
import { createStore, StoreError } from "#reference/lesson-08-rest/store.ts";
import type { User } from "#reference/lesson-10-grpc/user-proto.ts";
import { todo } from "#shared/todo.ts";

const getUser = (s: Started, id: string) =>
  ended<User>(s, `GetUser({ id: ${JSON.stringify(id)} })`, (cb) => s.client.GetUser({ id }, cb));

const createUser = (s: Started, input: { name: string; email: string }, metadata = withToken()) =>
  ended<User>(s, `CreateUser(${JSON.stringify(input)})`, (cb) =>
    s.client.CreateUser(input, metadata, {}, cb),
  );

function expectStatus(error: grpc.ServiceError, code: grpc.status, why: string): void {
  expect(
    statusName(error.code),
    `${why}; the call ended with ${JSON.stringify(error.details)}`,
  ).toBe(statusName(code));
}

describe("Step 3: The UserService on grpc-js", () => {
  describe("GetUser (unary)", () => {
    test("answers the store's user: 123 is Ada Lovelace", async () => {
      const s = await startService();
      const user = replyOf(await getUser(s, "123"), "GetUser 123");
      expect(user).toEqual({
        id: "123",
        name: "Ada Lovelace",
        email: "ada.lovelace.123@example.com",
      });
      expect(s.store.queryLog, "one store query, getUser").toEqual(["getUser"]);
    });

    test("an id the store does not have is NOT_FOUND (5), with a message naming it", async () => {
      const s = await startService();
      const error = statusOf(await getUser(s, "999"), "GetUser 999");
      expectStatus(
        error,
        grpc.status.NOT_FOUND,
        "a well-formed id the store has no user for is NOT_FOUND, not INVALID_ARGUMENT (gRPC's status codes: NOT_FOUND is 'some requested entity was not found')",
      );
      expect(error.details, "the message names the id, for a person reading it").toContain("999");
    });

    test.each(["", "12a", "-1"])(
      "an id %j that is not digits is INVALID_ARGUMENT (3), and the store is not asked",
      async (id) => {
        const s = await startService();
        const error = statusOf(await getUser(s, id), `GetUser ${JSON.stringify(id)}`);
        expectStatus(
          error,
          grpc.status.INVALID_ARGUMENT,
          `an id that is not digits (lesson 08's IdSchema) is the request's fault whatever the store holds: INVALID_ARGUMENT, not NOT_FOUND`,
        );
        expect(error.details, "the message says what is wrong with the id").not.toBe("");
        expect(s.store.queryLog, "a request refused by validation costs no store query").toEqual(
          [],
        );
      },
    );
    test("each call ends once, and onCallEnd says how: ok for a reply, failed for an error status", async () => {
      const s = await startService();
      replyOf(await getUser(s, "123"), "GetUser 123");
      statusOf(await getUser(s, "999"), "GetUser 999");
      statusOf(await getUser(s, "x"), "GetUser x");
      replyOf(
        await createUser(s, { name: "Grace Hopper", email: "grace@example.com" }),
        "CreateUser",
      );
      statusOf(await createUser(s, { name: "", email: "x@example.com" }), "CreateUser, no name");
      expect(s.ends, "options.onCallEnd(method, outcome), once per call, after its end").toEqual([
        { method: "GetUser", outcome: "ok" },
        { method: "GetUser", outcome: "failed" },
        { method: "GetUser", outcome: "failed" },
        { method: "CreateUser", outcome: "ok" },
        { method: "CreateUser", outcome: "failed" },
      ]);
    });
  });

  describe("CreateUser (unary, with a token)", () => {
    test("creates the user in the store and answers it with its new id", async () => {
      const s = await startService();
      const input = { name: "Grace Hopper", email: "grace@example.com" };
      const user = replyOf(await createUser(s, input), "CreateUser with a good token");
      expect(user).toEqual({ id: "141", ...input });
      expect(s.store.getUser("141"), "the store has the new user").toEqual(user);
    });

    test.each([
      ["no authorization metadata", new grpc.Metadata()],
      ["an unknown token", withToken("not-a-token")],
      [
        "a token with no scheme",
        (() => {
          const m = new grpc.Metadata();
          m.set("authorization", "demo-token");
          return m;
        })(),
      ],
      ["a Basic scheme", withToken("demo-token", "Basic")],
      ["a scheme that only ends in Bearer (xBearer)", withToken("demo-token", "xBearer")],
      ["a token with more after it (Bearer demo-token extra)", withToken("demo-token extra")],
    ])("%s is UNAUTHENTICATED (16), and nothing is created", async (_what, metadata) => {
      const s = await startService();
      const error = statusOf(
        await createUser(s, { name: "Eve", email: "eve@example.com" }, metadata),
        "CreateUser without a valid token",
      );
      expectStatus(
        error,
        grpc.status.UNAUTHENTICATED,
        "a call that needs a token and has none (or one the server does not know) is UNAUTHENTICATED (16); PERMISSION_DENIED (7) is for a known caller who may not do it",
      );
      expect(s.store.findUserByEmail("eve@example.com"), "nothing created").toBeUndefined();
    });

    test.each(["bearer", "BEARER"])(
      "the scheme %j is Bearer: authentication schemes are case-insensitive (RFC 9110 §11.1)",
      async (scheme) => {
        const s = await startService();
        const outcome = await createUser(
          s,
          { name: "Alan Turing", email: "alan@example.com" },
          withToken("demo-token", scheme),
        );
        replyOf(outcome, `CreateUser with authorization: ${scheme} demo-token`);
      },
    );

    test("the scheme and the token may be apart by more than one space (RFC 6750 §2.1: 1*SP)", async () => {
      const s = await startService();
      const outcome = await createUser(
        s,
        { name: "Alan Turing", email: "alan@example.com" },
        withToken("demo-token", "Bearer "),
      );
      replyOf(outcome, "CreateUser with authorization: Bearer  demo-token (two spaces)");
    });

    test("the tokens of the options are the ones accepted", async () => {
      const s = await startService({ tokens: { "other-token": "someone" } });
      const input = { name: "Alan Turing", email: "alan@example.com" };
      expectStatus(
        statusOf(await createUser(s, input), "CreateUser with demo-token"),
        grpc.status.UNAUTHENTICATED,
        "with options.tokens given, demo-token is not one of them",
      );
      replyOf(await createUser(s, input, withToken("other-token")), "CreateUser with other-token");
    });

    test("a token named like an Object property (__proto__, constructor) is unknown", async () => {
      const s = await startService();
      for (const token of ["__proto__", "constructor", "toString"]) {
        const error = statusOf(
          await createUser(s, { name: "Eve", email: "eve@example.com" }, withToken(token)),
          `CreateUser with the token ${token} (nobody's: look the token up with Object.hasOwn(tokens, token), not tokens[token], whose prototype has a ${token})`,
        );
        expectStatus(
          error,
          grpc.status.UNAUTHENTICATED,
          `the token ${token} is nobody's: look it up with Object.hasOwn, not tokens[token]`,
        );
      }
    });

    test.each([
      [{ name: "", email: "x@example.com" }, "name"],
      [{ name: "   ", email: "x@example.com" }, "name"],
      [{ name: "Ok", email: "not-an-email" }, "email"],
    ])("bad input %j is INVALID_ARGUMENT (3) with the field's problem", async (input, field) => {
      const s = await startService();
      const error = statusOf(await createUser(s, input), `CreateUser(${JSON.stringify(input)})`);
      expectStatus(
        error,
        grpc.status.INVALID_ARGUMENT,
        "input lesson 08's UserInputSchema refuses is INVALID_ARGUMENT",
      );
      expect(
        error.details,
        `the message names the field, "${field}: ...", and its problem`,
      ).toMatch(new RegExp(`^${field}: .+`));
      expect(s.store.queryLog, "nothing written").not.toContain("createUser");
    });

    test("a taken email is ALREADY_EXISTS (6), and the store keeps one user with it", async () => {
      const s = await startService();
      const email = "ada.lovelace.123@example.com";
      const error = statusOf(
        await createUser(s, { name: "Ada Again", email }),
        "CreateUser with Ada's email",
      );
      expectStatus(
        error,
        grpc.status.ALREADY_EXISTS,
        "the store refused the email as taken (StoreError STORE_EMAIL_TAKEN): ALREADY_EXISTS",
      );
      expect(error.details).toContain(email);
      expect(s.store.listUsers({ limit: 100 }).filter((u) => u.email === email)).toHaveLength(1);
    });
  });

  describe("when the store fails", () => {
    // startService() fails a test at once when a handler throws or reaches a stub. These tests
    // are about what the client gets then, so they read the call's own status instead.
    const asClient = { failed: new Promise<never>(() => {}) };

    test("a store error other than a taken email is the server's fault: UNKNOWN or INTERNAL, not ALREADY_EXISTS, and the server goes on serving", async () => {
      const store = createStore();
      store.createUser = () => {
        throw new StoreError("STORE_NO_SUCH_USER", "the store broke");
      };
      const s = await startService({ store });
      const input = { name: "Grace Hopper", email: "grace@example.com" };
      const error = statusOf(
        await ended<User>(asClient, "CreateUser while the store fails", (cb) =>
          s.client.CreateUser(input, withToken(), {}, cb),
        ),
        "CreateUser while the store fails",
      );
      expect(
        [statusName(grpc.status.UNKNOWN), statusName(grpc.status.INTERNAL)],
        `only STORE_EMAIL_TAKEN is ALREADY_EXISTS, a refusal the client can act on; any other store failure is the server's own (UNKNOWN, or INTERNAL): throw it on. The call ended with ${statusName(error.code)} ${JSON.stringify(error.details)}`,
      ).toContain(statusName(error.code));
      replyOf(
        await ended<User>(asClient, "GetUser 123 after the failed CreateUser", (cb) =>
          s.client.GetUser({ id: "123" }, cb),
        ),
        "GetUser 123 after the failed CreateUser",
      );
    });

    test("a store function not written yet ends the call with UNIMPLEMENTED, naming it, not UNKNOWN", async () => {
      const store = createStore();
      store.getUser = () => todo("lesson-08-rest", "store.getUser()", "Step 2");
      const s = await startService({ store });
      const error = statusOf(
        await ended<User>(asClient, "GetUser while store.getUser is a stub", (cb) =>
          s.client.GetUser({ id: "123" }, cb),
        ),
        "GetUser while store.getUser is a stub",
      );
      expectStatus(
        error,
        grpc.status.UNIMPLEMENTED,
        "a handler that reaches unwritten code ends its call with UNIMPLEMENTED (the given unwrittenFailsTheCall does it), so the client learns what to write, not UNKNOWN",
      );
      expect(error.details, "the message names the unwritten function").toContain(
        "store.getUser()",
      );
    });
  });

  describe("health and reflection", () => {
    test("the standard health service says SERVING for the server and for users.v1.UserService", async () => {
      const s = await startService();
      const Health = grpc.makeClientConstructor(healthService, "grpc.health.v1.Health");
      const health = closeAfterTest(new Health(s.address, grpc.credentials.createInsecure()));
      const check = (service: string) =>
        ended<{ status: string }>(s, `Health.Check(${JSON.stringify(service)})`, (cb) =>
          (
            health as unknown as {
              Check: (r: object, cb: grpc.requestCallback<{ status: string }>) => void;
            }
          ).Check({ service }, cb),
        );
      for (const service of ["", "users.v1.UserService"]) {
        expect(
          replyOf(await check(service), `Health.Check ${service}`).status,
          `health of ${JSON.stringify(service)}`,
        ).toBe("SERVING");
      }
      const unknown = statusOf(
        await check("no.such.Service"),
        "Health.Check of an unknown service",
      );
      expectStatus(
        unknown,
        grpc.status.NOT_FOUND,
        "the health service answers NOT_FOUND for a service it was not told about",
      );
    });

    test("server reflection (grpc.reflection.v1) lists users.v1.UserService, and describes its file", async () => {
      const s = await startService();
      const require = createRequire(import.meta.url);
      const root = path.dirname(require.resolve("@grpc/reflection/package.json"));
      const definition = protoLoader.loadSync(
        path.join(root, "build", "proto", "grpc", "reflection", "v1", "reflection.proto"),
        { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
      );
      const loaded = grpc.loadPackageDefinition(definition) as unknown as {
        grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
      };
      const reflection = closeAfterTest(
        new loaded.grpc.reflection.v1.ServerReflection(
          s.address,
          grpc.credentials.createInsecure(),
        ),
      );
      const stream = (
        reflection as unknown as {
          ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>>;
        }
      ).ServerReflectionInfo();
      const replies: Record<string, unknown>[] = [];
      const two = new Promise<void>((resolve, reject) => {
        stream.on("data", (reply: Record<string, unknown>) => {
          replies.push(reply);
          if (replies.length === 2) resolve();
        });
        stream.on("error", reject);
      });
      stream.write({ list_services: "" });
      stream.write({ file_containing_symbol: "users.v1.UserService" });
      await within(
        two,
        "two answers from ServerReflectionInfo: the list of services, then the file of users.v1.UserService",
      );
      stream.end();
      const list = replies[0]?.list_services_response as
        { service: { name: string }[] } | undefined;
      expect(
        list?.service.map((x) => x.name),
        JSON.stringify(replies[0]),
      ).toContain("users.v1.UserService");
      const files = replies[1]?.file_descriptor_response as
        { file_descriptor_proto: Buffer[] } | undefined;
      expect(files?.file_descriptor_proto.length, JSON.stringify(replies[1])).toBeGreaterThan(0);
      expect(Buffer.concat(files?.file_descriptor_proto ?? []).toString("latin1")).toContain(
        "GetUser",
      );
    });
  });
});
