import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MessageFeed, type Message } from "#lesson/lesson-05-polling/feed.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";

const AT = new Date("2026-01-02T03:04:05.678Z");

/** A feed with `count` messages "m1", "m2", ... already appended. */
function feedWith(count: number, options: { maxMessages?: number } = {}): MessageFeed {
  const feed = new MessageFeed({ ...options, now: () => AT });
  for (let i = 1; i <= count; i++) feed.append({ author: "ada", text: `m${i}` });
  return feed;
}

const idsOf = (messages: Message[]): number[] => messages.map((m) => m.id);

describe("Step 1: The feed: a store read with a cursor", () => {
  test("gives each appended message the next id, starting at 1, and the time it was accepted", () => {
    const feed = new MessageFeed({ now: () => AT });
    const first = feed.append({ author: "ada", text: "hello" });
    const second = feed.append({ author: "grace", text: "hi ada" });
    expect(first).toEqual({ id: 1, author: "ada", text: "hello", at: "2026-01-02T03:04:05.678Z" });
    expect(second).toMatchObject({ id: 2, author: "grace", text: "hi ada" });
    expect(feed.lastId).toBe(2);
  });

  test("emits each message once it is stored, so a listener can already read it", () => {
    const feed = new MessageFeed();
    const seen: Message[] = [];
    const readable: Message[][] = [];
    feed.on("message", (message) => {
      seen.push(message);
      readable.push(feed.after(message.id - 1, 10));
    });
    const message = feed.append({ author: "ada", text: "hello" });
    expect(seen).toEqual([message]);
    expect(
      readable,
      'inside the "message" listener, after(id - 1) already has the message: store it, then emit',
    ).toEqual([[message]]);
  });

  test("after(id) gives the messages newer than the cursor, oldest first", () => {
    const feed = feedWith(5);
    expect(idsOf(feed.after(0, 100)), "after(0): everything").toEqual([1, 2, 3, 4, 5]);
    expect(idsOf(feed.after(3, 100)), "after(3)").toEqual([4, 5]);
    expect(feed.after(3, 100).map((m) => m.text)).toEqual(["m4", "m5"]);
  });

  test("after(the newest id) gives nothing: the reader is up to date", () => {
    const feed = feedWith(3);
    expect(feed.after(3, 100)).toEqual([]);
    expect(new MessageFeed().after(0, 100), "an empty feed").toEqual([]);
  });

  test("after(id, limit) gives at most limit messages, and the reader continues from the last id it got", () => {
    const feed = feedWith(10);
    const batches: number[][] = [];
    let cursor = 0;
    // At most 10 rounds: an after() that gives the cursor's own message back never runs dry.
    for (let round = 0; round < 10; round++) {
      const batch = feed.after(cursor, 3);
      if (batch.length === 0) break;
      batches.push(idsOf(batch));
      cursor = batch.at(-1)!.id;
    }
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]);
  });

  test.each([0, -1, 1.5])(
    "refuses the limit %s with a FeedRangeError that names it: a caller's bug",
    (limit) => {
      const error = thrownBy(() => feedWith(1).after(0, limit));
      expect(error, "a RangeError").toBeInstanceOf(RangeError);
      expect(codeOf(error)).toBe("FEED_OUT_OF_RANGE");
      expect((error as Error).message, "the message names the bad value").toContain(String(limit));
    },
  );

  test("keeps at most maxMessages, dropping the oldest, and ids keep counting", () => {
    const feed = feedWith(5, { maxMessages: 3 });
    expect(idsOf(feed.after(0, 100)), "a cursor older than what is kept").toEqual([3, 4, 5]);
    expect(idsOf(feed.after(3, 100))).toEqual([4, 5]);
    expect(feed.append({ author: "ada", text: "m6" }).id).toBe(6);
    expect(idsOf(feed.after(0, 100))).toEqual([4, 5, 6]);
    expect(feedWith(2, { maxMessages: 1 }).oldestId, "maxMessages: 1 keeps one message").toBe(2);
    for (const maxMessages of [0, 2.5]) {
      expect(
        codeOf(thrownBy(() => new MessageFeed({ maxMessages }))),
        `maxMessages: ${maxMessages} is refused`,
      ).toBe("FEED_OUT_OF_RANGE");
    }
  });

  test("oldestId says where what is kept begins: 0 when empty, then the first id still kept", () => {
    expect(new MessageFeed().oldestId, "an empty feed").toBe(0);
    expect(feedWith(2, { maxMessages: 3 }).oldestId, "nothing dropped yet").toBe(1);
    const feed = feedWith(5, { maxMessages: 3 });
    expect(feed.oldestId, "ids 1 and 2 were dropped, 3 to 5 are kept").toBe(3);
    feed.append({ author: "ada", text: "m6" });
    expect(feed.oldestId, "one more in, the oldest out").toBe(4);
  });

  test("a reader with a cursor gets every message once, in order, however appends and reads interleave", () => {
    // Each step appends a few messages, or reads a batch of some size from the cursor.
    const step = fc.oneof(
      fc.record({ append: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ read: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const feed = new MessageFeed();
        const delivered: number[] = [];
        let cursor = 0;
        const read = (limit: number): number => {
          const batch = feed.after(cursor, limit);
          delivered.push(...idsOf(batch));
          cursor = batch.at(-1)?.id ?? cursor;
          return batch.length;
        };
        for (const s of steps) {
          if ("append" in s) {
            for (let i = 0; i < s.append; i++) feed.append({ author: "ada", text: "x" });
          } else read(s.read);
        }
        // The reader catches up; a bounded number of reads, so a reader that never runs dry fails.
        for (let round = 0; round <= feed.lastId && read(5) > 0; round++);
        const posted = Array.from({ length: feed.lastId }, (_, i) => i + 1);
        expect(delivered).toEqual(posted);
      }),
    );
  });
});
