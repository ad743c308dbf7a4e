import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import type { ChatMessage, ImportUsersReply, User } from "#reference/lesson-10-grpc/user-proto.ts";
import { within } from "#shared/testing/patience.ts";
import {
  collect,
  ended,
  largeStore,
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
      const { messages, status } = await collect(s, "ListUsers({})", s.client.ListUsers({}));
      expect(statusName(status.code), status.details).toBe(statusName(grpc.status.OK));
      expect(ids(messages)).toEqual(range(101, 140));
      expect(messages.find((u) => u.id === "123")?.name).toBe("Ada Lovelace");
    });

    test("limit sends at most that many users; 0 sends them all", async () => {
      const s = await startService();
      const five = await collect(s, "ListUsers({ limit: 5 })", s.client.ListUsers({ limit: 5 }));
      expect(ids(five.messages), "limit: 5").toEqual(range(101, 105));
      const all = await collect(s, "ListUsers({ limit: 0 })", s.client.ListUsers({ limit: 0 }));
      expect(all.messages, "limit: 0 is proto3's default: no limit").toHaveLength(40);
    });

    test(
      "a client that reads late gets all 10,040 users in order, and the server never wrote while write() said its buffer was full",
      async () => {
        const s = await startService({ store: largeStore() });
        const stream = s.client.ListUsers({});
        const [seen] = await within(s.reached("ListUsers"), "the ListUsers call at the server");
        // Nobody reads yet: the client's buffer and HTTP/2's flow-control window fill, and the
        // server's write() starts returning false.
        await within(
          Promise.race([seen!.full, s.failed]),
          () =>
            `ListUsers' write() to return false once its buffer is full (the client is not reading); it wrote ${seen!.writes} users and never filled it`,
        );
        const { messages, status } = await collect(
          s,
          "ListUsers of 10,040 users",
          stream,
          LARGE_MS,
        );
        expect(
          seen!.writesWhileFull,
          "write() returned false, and the handler went on writing before 'drain': it must wait for 'drain' (backpressure), or a client that reads slowly makes the server buffer the whole store",
        ).toBe(0);
        expect(statusName(status.code), status.details).toBe(statusName(grpc.status.OK));
        expect(messages, "every user, once").toHaveLength(10_040);
        expect(ids(messages)).toEqual([...range(101, 140), ...range(141, 10_140)]);
        expect(
          s.store.queryLog.filter((q) => q === "listUsers").length,
          "the store is read a page at a time, not in one query of 10,040 users",
        ).toBeGreaterThan(1);
      },
      LARGE_TEST_MS,
    );

    test(
      "a client that never reads leaves the server waiting: it has written a bounded part of a 10,040-user store when the deadline ends the call",
      async () => {
        const s = await startService({ store: largeStore() });
        const deadline = Date.now() + 600;
        const stream = s.client.ListUsers({}, new grpc.Metadata(), { deadline });
        const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
        stream.on("error", () => {});
        const [seen] = await within(s.reached("ListUsers"), "the ListUsers call at the server");
        let waiting = false;
        seen!.call.once("cancelled", () => {
          waiting = (seen!.call as unknown as { writableNeedDrain: boolean }).writableNeedDrain;
        });
        const { code } = await within(
          Promise.race([status, s.failed]),
          "the status of ListUsers once its 600 ms deadline passed",
          3_000,
        );
        expect(statusName(code), "the client's deadline passed").toBe(
          statusName(grpc.status.DEADLINE_EXCEEDED),
        );
        await within(
          s.ended("ListUsers", "cancelled"),
          () =>
            `onCallEnd("ListUsers", "cancelled"): when the deadline passes, grpc-js emits "cancelled" and the handler must stop (a wait for "drain" that never comes must end too). onCallEnd calls so far: ${JSON.stringify(s.ends)}`,
        );
        expect(
          seen!.writesWhileFull,
          "the handler wrote while write() said the buffer was full: wait for 'drain'",
        ).toBe(0);
        expect(
          seen!.writes,
          "a client that does not read holds the server to what its buffers take, not the whole store",
        ).toBeLessThan(10_040);
        expect(waiting, "when the deadline came the server was waiting for 'drain'").toBe(true);
        expect(seen!.writesAfterEnd, "nothing is written after the call is cancelled").toBe(0);
      },
      LARGE_TEST_MS,
    );

    test(
      "a client that cancels stops the stream: the server sees it, writes nothing more and ends its work",
      async () => {
        const s = await startService({ store: largeStore() });
        const stream = s.client.ListUsers({});
        const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
        const first = await firstMessages(s, stream, 5, "ListUsers");
        expect(ids(first)).toEqual(range(101, 105));
        const [seen] = await s.reached("ListUsers");
        stream.cancel();
        await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
        const { code } = await within(status, "the client's status after cancel()");
        expect(statusName(code)).toBe(statusName(grpc.status.CANCELLED));
        await within(
          s.ended("ListUsers", "cancelled"),
          () =>
            `onCallEnd("ListUsers", "cancelled"): a cancelled ListUsers must stop its loop. onCallEnd calls so far: ${JSON.stringify(s.ends)}`,
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
  });

  describe("ImportUsers (client streaming)", () => {
    test("one summary when the client ends its stream: created, and each refusal with its index, code and message", async () => {
      const s = await startService();
      const outcome = await ended<ImportUsersReply>(s, "ImportUsers", (cb) => {
        const call = s.client.ImportUsers(withToken(), {}, cb);
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
        s.client.ImportUsers(withToken(), {}, cb).end();
      });
      expect(replyOf(outcome, "ImportUsers of no users")).toEqual({ created: 0, failures: [] });
    });

    test("without a token it is UNAUTHENTICATED (16), and nothing is created", async () => {
      const s = await startService();
      const outcome = await ended<ImportUsersReply>(s, "ImportUsers without a token", (cb) => {
        const call = s.client.ImportUsers(new grpc.Metadata(), {}, cb);
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
        const call = s.client.ImportUsers(withToken(), {}, cb);
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
