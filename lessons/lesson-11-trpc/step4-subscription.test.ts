import type { EventEmitter } from "node:events";
import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from "@trpc/client";
import { describe, expect, onTestFinished, test } from "vitest";
import { MessageFeed, type Message } from "#reference/lesson-05-polling/feed.ts";
import type { AppRouter } from "#lesson/lesson-11-trpc/router.ts";
import { createServer } from "#lesson/lesson-11-trpc/server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { within } from "../../shared/testing/patience.ts";
import {
  EventSource,
  fetchWithToken,
  record,
  startServer,
  TOKEN,
  TOKEN_USER,
  type Started,
} from "./sse-helpers.ts";

/**
 * A tRPC client of the tests' own (not your Step 3 client, so that this step stands on its own):
 * subscriptions by httpSubscriptionLink on the eventsource package, the rest by httpLink, the
 * token on both. Reconnections come 50 ms after a drop (see fetchWithToken).
 */
function feedClient(url: string, token: string | undefined = TOKEN) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: { fetch: fetchWithToken(token, 50) },
        }),
        false: httpLink({ url, headers }),
      }),
    ],
  });
}

type Event = { id: string; data: Message };

/** Subscribes to feed.onMessage; unsubscribes when the test ends. */
function subscribe(
  started: Started,
  input: { lastEventId?: string | null } | undefined,
  token?: string,
) {
  const recorder = record<Event>(started.failed);
  const subscription = feedClient(started.url, token).feed.onMessage.subscribe(
    input,
    recorder.handlers,
  );
  onTestFinished(() => subscription.unsubscribe());
  return { recorder, subscription };
}

/**
 * The feed's "message" listeners: one per open stream, none once every client has gone. What the
 * tests watch is the feed's "message" event: on(feed, "message", { signal }) listens to it, and so
 * does any listener a generator adds.
 */
const listeners = (started: Started): number => started.feed.listenerCount("message");

/** Resolves once the feed has `count` message listeners (it emits removeListener as they go). */
async function untilListeners(started: Started, count: number, expected: string): Promise<void> {
  // The feed's own typing knows its events only; an EventEmitter also emits these two.
  const feed = started.feed as unknown as EventEmitter;
  let changed = (): void => {};
  const reached = new Promise<void>((resolve) => {
    changed = () => {
      if (listeners(started) === count) resolve();
    };
    changed();
  });
  // "removeListener" comes once the listener is gone; "newListener" before it is added.
  const later = (): void => void setImmediate(changed);
  feed.on("removeListener", changed);
  feed.on("newListener", later);
  const message = (): string => {
    const has = listeners(started);
    const why =
      has < count
        ? `too few: the tests count the listeners of the feed's "message" event, which a stream listens to (on(feed, "message", { signal })) while it is open; a stream that waits on the feed some other way (feed.waitFor) has none to count`
        : `one left behind keeps a gone client in memory for as long as the feed lives`;
    return `${expected}: expected ${count} "message" listener(s) on the feed, the feed has ${has} (${why})`;
  };
  try {
    await within(Promise.race([reached, started.failed]), message);
  } finally {
    feed.off("removeListener", changed);
    feed.off("newListener", later);
  }
}

/** A raw GET of the subscription's event stream with fetch: the bytes as they arrive. */
async function rawStream(started: Started, input: unknown, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const response = await within(
    fetch(`${started.url}/feed.onMessage${query}`, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${TOKEN}`, ...headers },
      signal: controller.signal,
    }),
    "an answer to GET /trpc/feed.onMessage",
  );
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    response,
    close: () => controller.abort(),
    /** The stream's text once `done(text)` holds. */
    async until(done: (text: string) => boolean, expected: string): Promise<string> {
      const read = (async () => {
        while (!done(text)) {
          const { value, done: ended } = await reader.read();
          if (ended) throw new Error(`The stream ended before ${expected}: ${show(text)}`);
          text += decoder.decode(value, { stream: true });
        }
        return text;
      })();
      try {
        return await within(Promise.race([read, started.failed]), () => {
          return `Nothing more in time. Expected ${expected}; the stream so far: ${show(text)}`;
        });
      } finally {
        if (!done(text)) controller.abort();
      }
    },
  };
}

/** The ids of the stream's events, in order, from its `id:` lines. */
const idLines = (text: string): string[] => [...text.matchAll(/^id: ?(.*)$/gm)].map((m) => m[1]!);

const post = (started: Started, count: number, from = 1): void => {
  for (let i = from; i < from + count; i++) started.feed.append({ author: "ada", text: `hi ${i}` });
};

/**
 * A feed that is posted to the moment a replay has been read from it: the message comes while the
 * replay is being sent, before the generator reaches its live messages. A generator listening by
 * then has it buffered; one that starts listening after the replay never sees it.
 */
class PostedToWhileRead extends MessageFeed {
  #posted = false;
  override after(id: number, limit: number): Message[] {
    const kept = super.after(id, limit);
    if (!this.#posted) {
      this.#posted = true;
      this.append({ author: "grace", text: "posted while the replay was read" });
    }
    return kept;
  }
}

/**
 * The ids of the events the client got, each checked first to be one: a value yielded without
 * tracked() reaches the client as it is, with no id.
 */
function idsOf(events: readonly { id: unknown }[]): unknown[] {
  for (const event of events) {
    expect(
      typeof event.id,
      `an event without an id (the client got ${JSON.stringify(event)}): yield tracked(String(message.id), message), so that the event has an id: line, which a reconnecting client sends back as Last-Event-ID`,
    ).toBe("string");
  }
  return events.map((e) => e.id);
}

/** 1, 2, ... count, as the ids of the events. */
const ids = (count: number): string[] => Array.from({ length: count }, (_, i) => String(i + 1));

describe("Step 4: A subscription over server-sent events", () => {
  describe("with tRPC's own client, over httpSubscriptionLink and the eventsource package", () => {
    test("each message posted with feed.post arrives as an event whose id is the message's id", async () => {
      const started = await startServer(createServer);
      const { recorder } = subscribe(started, {});
      await recorder.started(1, "the stream to start");
      const client = feedClient(started.url);
      const posted = await within(
        Promise.race([client.feed.post.mutate({ text: "hello" }), started.failed]),
        "feed.post to answer the message it stored",
      );
      expect(posted, "feed.post answers the message, its author the token's user").toMatchObject({
        id: 1,
        author: TOKEN_USER,
        text: "hello",
      });
      const [event] = await recorder.until(1, "the posted message as an event");
      expect(event, "yield tracked(String(message.id), message): the id is the feed's").toEqual({
        id: "1",
        data: posted,
      });
    });

    test.each([
      ["an empty input", {}],
      ["lastEventId: null", { lastEventId: null }],
      ["no input at all", undefined],
    ])(
      "with %s the stream starts now: what the feed had before is not sent",
      async (_name, input) => {
        const started = await startServer(createServer);
        post(started, 2);
        const { recorder } = subscribe(started, input);
        await recorder.started(1, "the stream to start");
        post(started, 1, 3);
        const events = await recorder.until(1, "the message posted after subscribing");
        expect(
          idsOf(events),
          "a first connection has nothing to resume: the messages before it are not replayed",
        ).toEqual(["3"]);
      },
    );

    test("with lastEventId it replays what the feed kept after that id, then goes on live, each once", async () => {
      const started = await startServer(createServer);
      post(started, 4);
      const { recorder } = subscribe(started, { lastEventId: "2" });
      await recorder.until(2, "the replay of 3 and 4 (the messages after lastEventId 2)");
      post(started, 1, 5);
      const events = await recorder.until(3, "message 5, live after the replay");
      expect(
        idsOf(events),
        "after 2 comes 3: not 1 and 2 again (a replay of everything), not nothing",
      ).toEqual(["3", "4", "5"]);
      expect(events.map((e) => e.data.text)).toEqual(["hi 3", "hi 4", "hi 5"]);
    });

    test("a message posted while the replay is read comes after the replay, once: the stream listens before it reads", async () => {
      const started = await startServer(createServer, { feed: new PostedToWhileRead() });
      post(started, 3);
      const { recorder } = subscribe(started, { lastEventId: "0" });
      await recorder.until(
        4,
        'messages 1 to 3 replayed, then message 4, posted the moment the feed was read for the replay: start listening (on(feed, "message", { signal })) before you read what the feed kept, in the same turn, or a message posted in between is lost',
      );
      post(started, 1, 5);
      const events = await recorder.until(5, "message 5, live after message 4");
      expect(
        idsOf(events),
        "the replay, then what came while it was read, then the live one: each once, in order",
      ).toEqual(ids(5));
    });

    test("the replay is all the feed keeps after lastEventId, not a page of it", async () => {
      const started = await startServer(createServer);
      post(started, 150);
      const { recorder } = subscribe(started, { lastEventId: "0" });
      await recorder.started(1, "the stream to start");
      post(started, 1, 151);
      const events = await recorder.until(
        151,
        "messages 1 to 150 replayed, then 151 live: the replay is feed.after(id, limit) with the limit of all the feed keeps (feed.maxMessages), not a page",
      );
      expect(idsOf(events), "every message after 0, then the live one").toEqual(ids(151));
    });

    test("after the connection drops, the client reconnects with Last-Event-ID and gets every message exactly once, in order", async () => {
      const started = await startServer(createServer);
      const { recorder } = subscribe(started, {});
      await recorder.started(1, "the stream to start");
      post(started, 2);
      await recorder.until(2, "messages 1 and 2 before the drop");
      const requestsBefore = started.requests.length;

      started.dropConnections(); // the network drops it: no end of the response, a reset
      post(started, 2, 3); // posted while the client is away
      await recorder.until(4, "messages 3 and 4, replayed on the reconnection");
      post(started, 1, 5);
      const events = await recorder.until(5, "message 5, live after the reconnection");

      const reconnect = started.requests
        .slice(requestsBefore)
        .find((r) => r.url.includes("feed.onMessage"));
      expect(reconnect, "a new GET of the stream after the drop").toBeDefined();
      const resumedFrom =
        reconnect?.headers["last-event-id"] ??
        new URL(reconnect?.url ?? "/", started.origin).searchParams.get("input");
      expect(
        String(resumedFrom),
        `the reconnection names the last event it got (${JSON.stringify(reconnect?.headers)})`,
      ).toContain("2");
      expect(
        idsOf(events),
        "each message once, in order: nothing lost in the drop, nothing sent twice",
      ).toEqual(["1", "2", "3", "4", "5"]);
      await untilListeners(
        started,
        1,
        "one \"message\" listener per open stream: the reconnected stream's, the dropped one's removed",
      );
    });

    test("when the client unsubscribes, the generator's finally removes its listener from the feed", async () => {
      const started = await startServer(createServer);
      const { recorder, subscription } = subscribe(started, {});
      await recorder.started(1, "the stream to start");
      await untilListeners(started, 1, 'one "message" listener per open stream, while it is open');
      subscription.unsubscribe();
      await untilListeners(
        started,
        0,
        'no listener once the client has gone: the generator must remove it in its finally, and the finally runs only at a yield or once the generator is done: a wait for the next message must end when the signal aborts (on(feed, "message", { signal }) ends so), or the generator waits on and its finally never runs',
      );
    });

    test("a client without a token is refused with UNAUTHORIZED, and one with it is served", async () => {
      const started = await startServer(createServer);
      const { recorder } = subscribe(started, {}, "");
      const error = await recorder.error("the subscription to fail with UNAUTHORIZED");
      expect(error, String(error)).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<AppRouter>).data?.code ?? String(error)).toBe(
        "UNAUTHORIZED",
      );
      expect(listeners(started)).toBe(0);
      const withToken = subscribe(started, { lastEventId: "0" });
      post(started, 1);
      await withToken.recorder.until(1, "message 1 for the client with a token");
    });
  });

  describe("the raw event stream, as lesson 07 wrote it", () => {
    test("fetch reads text/event-stream whose events carry an id: line, the message's id", async () => {
      const started = await startServer(createServer);
      post(started, 3);
      const stream = await rawStream(started, { lastEventId: "1" });
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const text = await stream.until(
        (t) => idLines(t).length >= 2,
        "two events with an id: line (tracked() gives the event its id)",
      );
      stream.close();
      expect(idLines(text), `the stream: ${show(text)}`).toEqual(["2", "3"]);
      const data = /^data: (.*)\nid: 2$/m.exec(text)?.[1];
      expect(JSON.parse(data ?? "null"), `the event after id: 2 in ${show(text)}`).toMatchObject({
        id: 2,
        text: "hi 2",
      });
    });

    test("a Last-Event-ID header resumes the stream as lastEventId does", async () => {
      const started = await startServer(createServer);
      post(started, 3);
      const stream = await rawStream(started, undefined, { "Last-Event-ID": "2" });
      const text = await stream.until((t) => idLines(t).length >= 1, "the event after 2");
      stream.close();
      expect(idLines(text), `the stream: ${show(text)}`).toEqual(["3"]);
    });

    test.each(["3.0", "+3", "0x3", "2; DROP"])(
      "a lastEventId of %j (not digits alone) is BAD_REQUEST, and one of two digits is not",
      async (lastEventId) => {
        const started = await startServer(createServer);
        const bad = subscribe(started, { lastEventId });
        const error = await bad.recorder.error("BAD_REQUEST for an id the feed never gave");
        expect((error as TRPCClientError<AppRouter>).data?.code ?? String(error)).toBe(
          "BAD_REQUEST",
        );
        post(started, 11);
        const good = subscribe(started, { lastEventId: "10" });
        const events = await good.recorder.until(1, 'message 11 after lastEventId "10"');
        expect(idsOf(events)).toEqual(["11"]);
      },
    );

    test("the eventsource package's own EventSource gets the ids as lastEventId, and resumes after a drop", async () => {
      const started = await startServer(createServer);
      const input = encodeURIComponent(JSON.stringify({}));
      const source = new EventSource(`${started.url}/feed.onMessage?input=${input}`, {
        fetch: fetchWithToken(TOKEN, 50),
      });
      const got: { lastEventId: string; id: number }[] = [];
      let opened = 0;
      const waiters = new Set<() => void>();
      source.addEventListener("open", () => {
        opened++;
        for (const w of [...waiters]) w();
      });
      source.addEventListener("message", (event) => {
        got.push({ lastEventId: event.lastEventId, id: (JSON.parse(event.data) as Message).id });
        for (const w of [...waiters]) w();
      });
      const until = (done: () => boolean, expected: string): Promise<void> =>
        within(
          Promise.race([
            new Promise<void>((resolve) => {
              const check = (): void => {
                if (done()) {
                  waiters.delete(check);
                  resolve();
                }
              };
              waiters.add(check);
              check();
            }),
            started.failed,
          ]),
          () => `Nothing more in time. Expected ${expected}; got ${JSON.stringify(got)}`,
        );
      try {
        await until(() => opened >= 1, "the stream to open");
        post(started, 1);
        await until(() => got.length >= 1, "message 1");
        started.dropConnections();
        post(started, 1, 2);
        await until(() => opened >= 2 && got.length >= 2, "a reconnection that replays message 2");
        expect(got).toEqual([
          { lastEventId: "1", id: 1 },
          { lastEventId: "2", id: 2 },
        ]);
        const last = started.requests.at(-1);
        expect(last?.headers["last-event-id"], "the reconnection's Last-Event-ID").toBe("1");
      } finally {
        source.close();
      }
    });
  });
});
