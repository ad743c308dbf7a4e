import { createHook } from "node:async_hooks";
import { setImmediate as turn } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { createStore } from "#reference/lesson-08-rest/store.ts";
import type { ChatMessage, ImportUsersReply, User } from "#reference/lesson-10-grpc/user-proto.ts";
import { within } from "#shared/testing/patience.ts";
import { shutdown } from "#lesson/lesson-10-grpc/server.ts";
import {
  collect,
  ended,
  quiet,
  replyOf,
  startService,
  statusName,
  statusOf,
  withToken,
  type Started,
} from "./service-helpers.ts";

/** A Chat call that has reached the server's handler, with its status to come. */
async function openChat(s: Started) {
  const call = s.client.Chat(withToken());
  call.on("error", () => {});
  const first = new Promise<ChatMessage>((resolve) => call.once("data", resolve));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const before = s.calls.filter((c) => c.method === "Chat").length;
  await within(
    Promise.race([s.reached("Chat", before + 1), s.failed]),
    "the Chat call at the server",
  );
  return { call, status, first };
}

describe("Step 3: The UserService on grpc-js", () => {
  describe("deadlines", () => {
    test("an ImportUsers whose deadline passes ends with DEADLINE_EXCEEDED (4), and its handler sees it cancelled", async () => {
      const s = await startService();
      const outcome = ended<ImportUsersReply>(s, "ImportUsers with a 300 ms deadline", (cb) => {
        const call = quiet(s.client.ImportUsers(withToken(), { deadline: Date.now() + 300 }, cb));
        // One user, and the client never ends its stream: only the deadline ends the call.
        call.write({ name: "Slow Import", email: "slow@example.com" });
      });
      const [seen] = await within(s.reached("ImportUsers"), "the ImportUsers call at the server");
      const error = statusOf(await outcome, "ImportUsers past its deadline");
      expect(statusName(error.code), error.details).toBe(statusName(grpc.status.DEADLINE_EXCEEDED));
      await within(
        seen!.cancelled,
        "grpc-js to tell the handler its call is cancelled when the deadline passes",
      );
      expect(seen!.call.cancelled, "call.cancelled is how a handler checks it").toBe(true);
      const after = await ended<User>(s, "GetUser 123 after it", (cb) =>
        s.client.GetUser({ id: "123" }, cb),
      );
      expect(replyOf(after, "GetUser after a call past its deadline").name).toBe("Ada Lovelace");
    });
    test("a Chat whose deadline passes ends with DEADLINE_EXCEEDED and leaves the room: nothing more is written to it", async () => {
      const s = await startService();
      const late = quiet(s.client.Chat(withToken(), { deadline: Date.now() + 300 }));
      const lateStatus = new Promise<grpc.StatusObject>((resolve) => late.on("status", resolve));
      const [lateAtServer] = await within(
        Promise.race([s.reached("Chat"), s.failed]),
        "the Chat call at the server",
      );
      const other = await openChat(s);
      const { code } = await within(lateStatus, "the status of the Chat past its 300 ms deadline");
      expect(statusName(code)).toBe(statusName(grpc.status.DEADLINE_EXCEEDED));
      await within(lateAtServer!.cancelled, "grpc-js to tell the handler the Chat is cancelled");
      other.call.write({ from: "", text: "after the deadline" });
      await within(other.first, "the message back to its sender");
      expect(
        lateAtServer!.writesAfterEnd,
        "the room wrote to a Chat call whose deadline had passed: a cancelled call leaves the room",
      ).toBe(0);
    });
  });

  describe("onCallEnd: how each call ended, once", () => {
    const GRPC_CANCELS_AFTER_THE_END =
      'grpc-js emits "cancelled" (and sets call.cancelled) on every call once it is over, the ones that ended with OK too: a handler that has ended its call ignores it. One named state per call ("open" | "ended" | "cancelled") decides the outcome once';

    test('every call that ends normally is reported once, "ok", and never "cancelled" after', async () => {
      const s = await startService();
      const user = await ended<User>(s, "GetUser 123", (cb) => s.client.GetUser({ id: "123" }, cb));
      replyOf(user, "GetUser 123");
      await collect(s, "ListUsers({ limit: 3 })", quiet(s.client.ListUsers({ limit: 3 })));
      const created = await ended<User>(s, "CreateUser", (cb) =>
        s.client.CreateUser({ name: "Grace", email: "grace@example.com" }, withToken(), {}, cb),
      );
      replyOf(created, "CreateUser");
      const imported = await ended<ImportUsersReply>(s, "ImportUsers", (cb) => {
        const call = quiet(s.client.ImportUsers(withToken(), {}, cb));
        call.write({ name: "Alan", email: "alan@example.com" });
        call.end();
      });
      replyOf(imported, "ImportUsers of one user");
      const chat = await openChat(s);
      chat.call.end();
      await within(Promise.race([chat.status, s.failed]), "the Chat to end with OK");
      // grpc-js's own "cancelled" comes a tick after the trailers; a turn more, and it has.
      await turn();
      await turn();
      expect(
        s.ends,
        `one onCallEnd per call, each "ok", in the order the calls ended. ${GRPC_CANCELS_AFTER_THE_END}`,
      ).toEqual(
        (["GetUser", "ListUsers", "CreateUser", "ImportUsers", "Chat"] as const).map((method) => ({
          method,
          outcome: "ok",
        })),
      );
    });

    test('an ImportUsers the client cancels is reported once, "cancelled", and gets no summary', async () => {
      let read!: () => void;
      const oneRead = new Promise<void>((resolve) => (read = resolve));
      const store = createStore({ onQuery: (name) => name === "createUser" && read() });
      const s = await startService({ store });
      const call = quiet(s.client.ImportUsers(withToken(), {}, () => {}));
      call.write({ name: "One", email: "one@example.com" });
      const [seen] = await within(
        Promise.race([s.reached("ImportUsers"), s.failed]),
        "the ImportUsers call at the server",
      );
      await within(Promise.race([oneRead, s.failed]), "the server to create the first user");
      call.cancel();
      await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
      await turn();
      await turn();
      expect(
        s.ends.filter((end) => end.method === "ImportUsers"),
        'a cancel ends the request stream too: grpc-js emits "end" first, with call.cancelled still false, and "cancelled" a few ticks later. A summary sent on "end" answers a call the client cancelled: decide after a turn of the event loop (setImmediate), once a cancel has been told',
      ).toEqual([{ method: "ImportUsers", outcome: "cancelled" }]);
      expect(seen!.replies, "the callback called for a cancelled ImportUsers").toBe(0);
    });

    test('a Chat the client cancels is reported once, "cancelled", not "ok"', async () => {
      const s = await startService();
      const chat = await openChat(s);
      const [seen] = s.calls.filter((c) => c.method === "Chat");
      chat.call.cancel();
      await within(seen!.cancelled, "grpc-js to tell the handler the Chat is cancelled");
      await turn();
      await turn();
      expect(
        s.ends.filter((end) => end.method === "Chat"),
        'a cancel ends the client\'s side too: grpc-js emits "end" first, with call.cancelled still false, and "cancelled" a few ticks later. Leave the room on "end", and decide how the call ended after a turn of the event loop (setImmediate)',
      ).toEqual([{ method: "Chat", outcome: "cancelled" }]);
    });
  });

  describe("shutdown", () => {
    test('shutdown() lets a call in flight finish, refuses new ones, and resolves "drained"', async () => {
      const s = await startService();
      const chat = await openChat(s);
      const stopped = shutdown(s.server, 10_000);
      let done = false;
      void stopped.then(() => (done = true));
      // A new call during the shutdown is refused; the Chat already open goes on.
      const other = s.client.Chat(withToken());
      other.on("error", () => {});
      const refused = await within(
        new Promise<grpc.StatusObject>((resolve) => other.on("status", resolve)),
        "a new call, made while the server shuts down, to be refused",
        3_000,
      );
      expect(statusName(refused.code), refused.details).toBe(statusName(grpc.status.UNAVAILABLE));
      chat.call.write({ from: "", text: "still talking" });
      await within(
        chat.first,
        "the Chat in flight to go on during the shutdown: tryShutdown() lets it, forceShutdown() would not",
      );
      expect(done, "the shutdown waits for the call in flight").toBe(false);
      chat.call.end();
      const { code } = await within(chat.status, "the Chat to end with OK");
      expect(statusName(code)).toBe(statusName(grpc.status.OK));
      expect(
        await within(
          stopped,
          "shutdown() to resolve once the last call ended (tryShutdown's callback)",
        ),
      ).toBe("drained");
    });

    test("shutdown() that drained leaves no timer behind: the grace ends with it", async () => {
      const s = await startService();
      const GRACE_MS = 600_000;
      // Every timer made from here on, seen by an async hook: the server runs in this process.
      const made: { _idleTimeout: number; _destroyed: boolean }[] = [];
      const hook = createHook({
        init(_id, type, _trigger, resource) {
          if (type === "Timeout") made.push(resource as (typeof made)[number]);
        },
      }).enable();
      let outcome: string;
      try {
        outcome = await within(
          shutdown(s.server, GRACE_MS),
          "shutdown() of a server with no call in flight to resolve (tryShutdown's callback)",
        );
      } finally {
        hook.disable();
      }
      expect(outcome).toBe("drained");
      const left = made.filter((timer) => !timer._destroyed && timer._idleTimeout === GRACE_MS);
      expect(
        left,
        `shutdown() resolved "drained", and its ${GRACE_MS} ms grace timer is still set: it would call forceShutdown() on a server already closed, and keep the process alive until then. Clear it (clearTimeout) once tryShutdown() has finished`,
      ).toHaveLength(0);
    });

    test('shutdown() forces the calls still going after the grace, and resolves "forced"', async () => {
      const s = await startService();
      const chat = await openChat(s);
      const outcome = await within(
        shutdown(s.server, 200),
        "shutdown(server, 200) to resolve: after 200 ms it must forceShutdown() what is left",
      );
      expect(outcome, "a Chat nobody ends outlasts any grace: the shutdown was forced").toBe(
        "forced",
      );
      const { code } = await within(chat.status, "the forced Chat's client to see its call end");
      expect(statusName(code), "a call cut off by forceShutdown() fails at its client").not.toBe(
        statusName(grpc.status.OK),
      );
    });
  });
});
