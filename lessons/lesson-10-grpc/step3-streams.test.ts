import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import type { ChatMessage, ImportUsersReply, User } from "#reference/lesson-10-grpc/user-proto.ts";
import { within } from "#shared/testing/patience.ts";
import {
  collect,
  quiet,
  rawListUsers,
  ended,
  largeStore,
  largestPage,
  replyOf,
  startService,
  statusName,
  statusOf,
  withToken,
  type Started,
} from "./service-helpers.ts";

/**
 * 10,040 users are 10,040 messages: a few seconds on a busy machine. The store is that large so
 * that what HTTP/2's flow-control window and the buffers hold (about 2,500 users) is a small part.
 */
const LARGE_MS = 12_000;
const LARGE_TEST_MS = 15_000;
/** The most users one store query may ask for: a page, not the store. */
const MAX_PAGE = 1_000;

/**
 * What to say when a cancelled ListUsers was not reported "cancelled": if it ended "ok", it never
 * waited at all.
 */
function cancelExpectation(s: Started, waiting: string): string {
  const ends = JSON.stringify(s.ends);
  if (s.ends.some((end) => end.method === "ListUsers" && end.outcome === "ok")) {
    return `onCallEnd("ListUsers", "cancelled"), but ListUsers ended "ok" before the client went away: it wrote all 10,040 users without waiting. write() returns false once the call's buffer is full; then wait for "drain" (backpressure), and the cancel finds the handler waiting. onCallEnd calls so far: ${ends}`;
  }
  return `onCallEnd("ListUsers", "cancelled"): ${waiting}. onCallEnd calls so far: ${ends}`;
}

const ids = (users: User[]): string[] => users.map((u) => u.id);
const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** Resolves with the first `count` messages a stream delivers (it keeps flowing after). */
function firstMessages<T>(
  s: Started,
  stream: grpc.ClientReadableStream<T>,
  count: number,
  what: string,
): Promise<T[]> {
  const messages: T[] = [];
  const enough = new Promise<T[]>((resolve, reject) => {
    stream.on("data", (message: T) => {
      messages.push(message);
      if (messages.length === count) resolve(messages.slice());
    });
    stream.on("error", reject);
  });
  return within(
    Promise.race([enough, s.failed]),
    () => `${count} message(s) of ${what}; ${messages.length} came: ${JSON.stringify(messages)}`,
  );
}

describe("Step 3: The UserService on grpc-js", () => {
  describe("ListUsers (server streaming)", () => {
    test("streams every user in id order, one message each, then ends with OK", async () => {
      const s = await startService();
      const { messages, status } = await collect(s, "ListUsers({})", quiet(s.client.ListUsers({})));
      expect(statusName(status.code), status.details).toBe(statusName(grpc.status.OK));
      expect(ids(messages)).toEqual(range(101, 140));
      expect(messages.find((u) => u.id === "123")?.name).toBe("Ada Lovelace");
      await within(
        s.ended("ListUsers", "ok"),
        () =>
          `onCallEnd("ListUsers", "ok") once the stream ended; so far ${JSON.stringify(s.ends)}`,
      );
    });

    test("limit sends at most that many users; 0 sends them all", async () => {
      const s = await startService();
      const five = await collect(
        s,
        "ListUsers({ limit: 5 })",
        quiet(s.client.ListUsers({ limit: 5 })),
      );
      expect(ids(five.messages), "limit: 5").toEqual(range(101, 105));
      const all = await collect(
        s,
        "ListUsers({ limit: 0 })",
        quiet(s.client.ListUsers({ limit: 0 })),
      );
      expect(all.messages, "limit: 0 is proto3's default: no limit").toHaveLength(40);
    });

    test(
      "a limit larger than a page is counted across the pages: 1,550 of 10,040 users",
      async () => {
        const s = await startService({ store: largeStore() });
        const { messages, status } = await collect(
          s,
          "ListUsers({ limit: 1550 })",
          quiet(s.client.ListUsers({ limit: 1550 })),
          LARGE_MS,
        );
        expect(statusName(status.code), status.details).toBe(statusName(grpc.status.OK));
        expect(
          messages.length,
          "limit: 1550 is 1,550 users in all: each page asks the store for at most what is still to send",
        ).toBe(1550);
        expect(ids(messages)).toEqual([...range(101, 140), ...range(141, 1650)]);
      },
      LARGE_TEST_MS,
    );

    test(
      "a client that does not read leaves the server waiting, having written a bounded part of 10,040 users; reading on gets them all, in order",
      async () => {
        const s = await startService({ store: largeStore() });
        const pages = largestPage(s.store);
        const raw = rawListUsers(s);
        const [seen] = await within(s.reached("ListUsers"), "the ListUsers call at the server");
        await raw.windowUsedUp();
        // HTTP/2 sends no more; what the server writes now stays in its buffer, until write()
        // says it is full.
        await within(
          Promise.race([seen!.full, s.failed]),
          () =>
            `ListUsers' write() to return false: the client reads nothing, so its buffer fills. It wrote ${seen!.writes} users`,
        );
        expect(
          seen!.writes,
          "a client that does not read holds the server to what HTTP/2's window and the buffers take, not the whole store",
        ).toBeLessThan(5_000);
        expect(
          s.store.queryLog.filter((q) => q === "listUsers").length,
          "the store is read a page at a time, as the stream needs them: not all 10,040 users at once",
        ).toBeLessThan(50);
        expect(
          pages.largest,
          `ListUsers asked the store for ${pages.largest} users in one query: read it a page at a time (a limit of at most ${MAX_PAGE}), so that what the server holds for one call stays bounded however large the store is`,
        ).toBeLessThanOrEqual(MAX_PAGE);

        const { users, trailers } = await raw.readAll(LARGE_MS);
        expect(trailers["grpc-status"], JSON.stringify(trailers)).toBe("0");
        expect(users, "every user, once").toHaveLength(10_040);
        expect(ids(users)).toEqual([...range(101, 140), ...range(141, 10_140)]);
        expect(
          seen!.writesWhileFull,
          "write() returned false, and the handler went on writing before 'drain': it must wait for 'drain' (backpressure), or a client that reads slowly makes the server buffer the whole store",
        ).toBe(0);
      },
      LARGE_TEST_MS,
    );

    test(
      "a client that goes away while the server waits for 'drain' ends the handler's wait: it sees the cancellation and writes nothing more",
      async () => {
        const s = await startService({ store: largeStore() });
        const raw = rawListUsers(s);
        const [seen] = await within(s.reached("ListUsers"), "the ListUsers call at the server");
        await raw.windowUsedUp();
        await within(Promise.race([seen!.full, s.failed]), "ListUsers' write() to return false");
        // RST_STREAM with CANCEL (RFC 9113 §6.4), as a gRPC client cancels a call.
        raw.stream.close(http2.constants.NGHTTP2_CANCEL);
        await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
        const before = s.store.queryCount;
        await within(s.ended("ListUsers", "cancelled"), () =>
          cancelExpectation(
            s,
            'a handler waiting for "drain" must stop waiting when the call is cancelled, or it waits forever',
          ),
        );
        expect(
          seen!.call.listenerCount("drain"),
          'onCallEnd("ListUsers", "cancelled") came, and the call still has a "drain" listener: the handler is still waiting for a "drain" that will never come. The cancel must end that wait itself (resolve it from "cancelled" too, and take both listeners off), and the outcome is reported once the loop has returned',
        ).toBe(0);
        expect(
          seen!.writesAfterEnd,
          "the handler went on writing to a cancelled call: check call.cancelled (or the 'cancelled' event) before each write",
        ).toBe(0);
        expect(s.store.queryCount, "no store query after the cancellation").toBe(before);
      },
      LARGE_TEST_MS,
    );

    test(
      "a client that cancels stops the stream: the server sees it, writes nothing more and ends its work",
      async () => {
        const s = await startService({ store: largeStore() });
        const stream = quiet(s.client.ListUsers({}));
        const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
        const first = await firstMessages(s, stream, 5, "ListUsers");
        expect(ids(first)).toEqual(range(101, 105));
        const [seen] = await s.reached("ListUsers");
        stream.cancel();
        await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
        const { code } = await within(status, "the client's status after cancel()");
        expect(statusName(code)).toBe(statusName(grpc.status.CANCELLED));
        await within(s.ended("ListUsers", "cancelled"), () =>
          cancelExpectation(s, "a cancelled ListUsers must stop its loop"),
        );
        const queries = s.store.queryCount;
        expect(
          seen!.writesAfterEnd,
          "the handler went on writing to a cancelled call: check call.cancelled (or the 'cancelled' event) before each write",
        ).toBe(0);
        expect(s.store.queryCount, "no store query after the call ended").toBe(queries);
      },
      LARGE_TEST_MS,
    );
    test("a store that fails ends the stream with INTERNAL (13), and the server goes on serving", async () => {
      const store = createStore({
        onQuery: (name) => {
          if (name === "listUsers") throw new Error("the database went away");
        },
      });
      const s = await startService({ store });
      const { messages, status } = await collect(
        s,
        "ListUsers over a failing store",
        quiet(s.client.ListUsers({})),
      );
      expect(
        statusName(status.code),
        `a failure of the server's own is INTERNAL; ${status.details}`,
      ).toBe(statusName(grpc.status.INTERNAL));
      expect(messages, "no user came: the store failed before the first").toEqual([]);
      await within(
        s.ended("ListUsers", "failed"),
        () => `onCallEnd("ListUsers", "failed"); so far ${JSON.stringify(s.ends)}`,
      );
      const after = await ended<User>(s, "GetUser 123", (cb) =>
        s.client.GetUser({ id: "123" }, cb),
      );
      expect(replyOf(after, "GetUser after a failed ListUsers").name).toBe("Ada Lovelace");
    });
  });

  describe("ImportUsers (client streaming)", () => {
    test("one summary when the client ends its stream: created, and each refusal with its index, code and message", async () => {
      const s = await startService();
      const outcome = await ended<ImportUsersReply>(s, "ImportUsers", (cb) => {
        const call = quiet(s.client.ImportUsers(withToken(), {}, cb));
        call.write({ name: "Grace Hopper", email: "grace@example.com" });
        call.write({ name: "", email: "nameless@example.com" });
        call.write({ name: "Ada Again", email: "ada.lovelace.123@example.com" });
        call.write({ name: "Alan Turing", email: "alan@example.com" });
        call.end();
      });
      const reply = replyOf(outcome, "ImportUsers of four users");
      expect(reply.created, JSON.stringify(reply)).toBe(2);
      expect(
        reply.failures.map((f) => [f.index, f.code]),
        "index from 0; code as CreateUser would answer: 3 INVALID_ARGUMENT, 6 ALREADY_EXISTS",
      ).toEqual([
        [1, grpc.status.INVALID_ARGUMENT],
        [2, grpc.status.ALREADY_EXISTS],
      ]);
      expect(reply.failures[0]?.message).toMatch(/^name: /);
      expect(reply.failures[1]?.message).toContain("ada.lovelace.123@example.com");
      expect(s.store.findUserByEmail("grace@example.com")?.name).toBe("Grace Hopper");
      expect(s.store.findUserByEmail("alan@example.com")?.name).toBe("Alan Turing");
    });

    test("an empty stream is a summary of nothing", async () => {
      const s = await startService();
      const outcome = await ended<ImportUsersReply>(s, "ImportUsers", (cb) => {
        quiet(s.client.ImportUsers(withToken(), {}, cb)).end();
      });
      expect(replyOf(outcome, "ImportUsers of no users")).toEqual({ created: 0, failures: [] });
    });

    test("without a token it is UNAUTHENTICATED (16), and nothing is created", async () => {
      const s = await startService();
      const outcome = await ended<ImportUsersReply>(s, "ImportUsers without a token", (cb) => {
        const call = quiet(s.client.ImportUsers(new grpc.Metadata(), {}, cb));
        call.on("error", () => {});
        call.write({ name: "Eve", email: "eve@example.com" });
        call.end();
      });
      const error = statusOf(outcome, "ImportUsers without a token");
      expect(statusName(error.code), error.details).toBe(statusName(grpc.status.UNAUTHENTICATED));
      expect(s.store.findUserByEmail("eve@example.com")).toBeUndefined();
    });

    test("a client that cancels mid-stream gets CANCELLED, not a summary, and the server goes on serving", async () => {
      let created!: () => void;
      const twoCreated = new Promise<void>((resolve) => (created = resolve));
      let count = 0;
      const store = createStore({
        onQuery: (name) => name === "createUser" && ++count === 2 && created(),
      });
      const s = await startService({ store });
      const outcome = ended<ImportUsersReply>(s, "ImportUsers, cancelled", (cb) => {
        const call = quiet(s.client.ImportUsers(withToken(), {}, cb));
        call.write({ name: "One", email: "one@example.com" });
        call.write({ name: "Two", email: "two@example.com" });
        void twoCreated.then(() => call.cancel());
      });
      const error = statusOf(await outcome, "ImportUsers cancelled by its client");
      expect(statusName(error.code)).toBe(statusName(grpc.status.CANCELLED));
      const [seen] = await s.reached("ImportUsers");
      await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
      expect(
        s.store.findUserByEmail("two@example.com"),
        "what was read before the cancel stays created",
      ).toBeDefined();
      const after = await ended<User>(s, "GetUser 123 after the cancel", (cb) =>
        s.client.GetUser({ id: "123" }, cb),
      );
      expect(replyOf(after, "GetUser after a cancelled ImportUsers").name).toBe("Ada Lovelace");
    });
  });

  describe("Chat (bidirectional streaming)", () => {
    const tokens = { "ann-token": "ann", "bob-token": "bob" };

    /** A Chat call with its messages and its status as they come. */
    function join(s: Started, token: string) {
      const call = s.client.Chat(withToken(token));
      const messages: ChatMessage[] = [];
      const waiters = new Set<() => void>();
      call.on("data", (m: ChatMessage) => {
        messages.push(m);
        for (const wake of waiters) wake();
      });
      call.on("error", () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      return {
        call,
        messages,
        status,
        received(count: number, who: string): Promise<ChatMessage[]> {
          const got = new Promise<ChatMessage[]>((resolve) => {
            const wake = (): void => {
              if (messages.length < count) return;
              waiters.delete(wake);
              resolve(messages.slice());
            };
            waiters.add(wake);
            wake();
          });
          return within(
            Promise.race([got, s.failed]),
            () => `${count} chat message(s) for ${who}; it has ${JSON.stringify(messages)}`,
          );
        },
      };
    }

    test("a message goes to every open Chat call, the sender's too, with `from` set by the server from the token", async () => {
      const s = await startService({ tokens });
      const ann = join(s, "ann-token");
      const bob = join(s, "bob-token");
      await within(s.reached("Chat", 2), "both Chat calls at the server");
      ann.call.write({ from: "mallory", text: "hello" });
      const expected = [{ from: "ann", text: "hello" }];
      expect(
        await bob.received(1, "bob"),
        "from is who the token says, whatever the client wrote",
      ).toEqual(expected);
      expect(await ann.received(1, "ann (the sender)")).toEqual(expected);
      bob.call.write({ from: "", text: "hi ann" });
      expect(await ann.received(2, "ann")).toEqual([...expected, { from: "bob", text: "hi ann" }]);
    });

    test("a client that ends its side gets the server's end (OK) and leaves the room", async () => {
      const s = await startService({ tokens });
      const ann = join(s, "ann-token");
      const bob = join(s, "bob-token");
      const calls = await within(s.reached("Chat", 2), "both Chat calls at the server");
      ann.call.end();
      const { code } = await within(
        Promise.race([ann.status, s.failed]),
        "the server to end its side of ann's Chat once her client ended its own (call.end() on 'end')",
      );
      expect(statusName(code)).toBe(statusName(grpc.status.OK));
      bob.call.write({ from: "", text: "anyone?" });
      await bob.received(1, "bob");
      const annAtServer = calls.find(
        (c) => c.call.metadata.get("authorization")[0] === "Bearer ann-token",
      );
      expect(
        annAtServer?.writesAfterEnd,
        "the room wrote to a Chat call that had ended: remove a call from the room when it ends",
      ).toBe(0);
      expect(annAtServer?.writes, "nothing at all written to ann after she left").toBe(0);
    });

    test("a cancelled Chat call leaves the room, and the server sees it", async () => {
      const s = await startService({ tokens });
      const ann = join(s, "ann-token");
      const bob = join(s, "bob-token");
      const calls = await within(s.reached("Chat", 2), "both Chat calls at the server");
      const annAtServer = calls.find(
        (c) => c.call.metadata.get("authorization")[0] === "Bearer ann-token",
      );
      ann.call.cancel();
      await within(annAtServer!.cancelled, "grpc-js to tell the server ann's Chat is cancelled");
      bob.call.write({ from: "", text: "still here" });
      await bob.received(1, "bob");
      expect(
        annAtServer?.writesAfterEnd,
        "the room wrote to a cancelled Chat call: remove it on 'cancelled'",
      ).toBe(0);
    });

    test("without a token it is UNAUTHENTICATED (16)", async () => {
      const s = await startService();
      const call = s.client.Chat(new grpc.Metadata());
      call.on("error", () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      call.write({ from: "", text: "hi" });
      const { code, details } = await within(
        Promise.race([status, s.failed]),
        "the status of a Chat without a token",
      );
      expect(statusName(code), details).toBe(statusName(grpc.status.UNAUTHENTICATED));
    });
  });
});
