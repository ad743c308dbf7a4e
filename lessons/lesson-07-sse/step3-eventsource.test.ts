import type http from "node:http";
import { EventSource } from "eventsource";
import { describe, expect, test } from "vitest";
import { onTestFinished } from "vitest";
import { within } from "../../shared/testing/patience.ts";
import { post, rethrowStub, start, type Started } from "./server-helpers.ts";

/** A GET /events the server received: its Last-Event-ID, and the request to cut it off. */
interface Arrival {
  lastEventId: string | undefined;
  req: http.IncomingMessage;
}

/** Every GET /events the server receives from now on, and a way to wait for the n-th one. */
function arrivals(server: Started["server"]) {
  const seen: Arrival[] = [];
  const waiters = new Set<() => void>();
  server.on("request", (req: http.IncomingMessage) => {
    if (!req.url?.startsWith("/events")) return;
    const header = req.headers["last-event-id"];
    seen.push({ lastEventId: Array.isArray(header) ? header[0] : header, req });
    for (const waiter of [...waiters]) waiter();
  });
  return {
    seen,
    /** Resolves with the n-th request (1, 2, ...) once it has come. */
    async nth(n: number, why: string): Promise<Arrival> {
      let check = (): void => {};
      try {
        return await within(
          new Promise<Arrival>((resolve) => {
            check = () => {
              const arrival = seen[n - 1];
              if (arrival !== undefined) resolve(arrival);
            };
            waiters.add(check);
            check();
          }),
          () =>
            `Only ${seen.length} GET /events request(s), where request ${n} should have come: ${why}`,
        );
      } finally {
        waiters.delete(check);
      }
    },
  };
}

/** The eventsource package's client, closed when the test ends, with what it has received. */
function client(origin: string) {
  const source = new EventSource(`${origin}/events`);
  onTestFinished(() => source.close());
  const messages: { id: number; lastEventId: string }[] = [];
  const errors: { code?: number; message?: string }[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  source.addEventListener("message", (event) => {
    messages.push({
      id: (JSON.parse(event.data) as { id: number }).id,
      lastEventId: event.lastEventId,
    });
    wake();
  });
  source.addEventListener("open", wake);
  source.addEventListener("error", (event) => {
    errors.push({ code: event.code, message: event.message });
    wake();
  });
  const until = async (done: () => boolean, why: string): Promise<void> => {
    let check = (): void => {};
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          check = () => {
            if (done()) resolve();
            else if (errors.length > 0) {
              // The EventSource failed: a 500 from a stub the server reached says which one.
              try {
                rethrowStub();
              } catch (stub) {
                reject(stub as Error);
              }
            }
          };
          waiters.add(check);
          check();
        }),
        () =>
          `Nothing after 1500 ms. Expected ${why}. The EventSource has messages ` +
          `[${messages.map((m) => m.id).join(", ")}], errors ${JSON.stringify(errors)}`,
      );
    } finally {
      waiters.delete(check);
    }
  };
  return { source, messages, errors, until };
}

describe("Step 3: Clients that reconnect", () => {
  test("the eventsource package gets the posted messages as message events, with their ids", async () => {
    const { origin, server } = await start();
    const requests = arrivals(server);
    const es = client(origin);
    await requests.nth(1, "the EventSource connects at once");
    await es.until(
      () => es.source.readyState === es.source.OPEN || es.errors.length > 0,
      "the stream to open",
    );
    rethrowStub();
    expect(
      es.errors,
      "the EventSource failed the connection: is the head 200 text/event-stream?",
    ).toEqual([]);
    await post(origin);
    await post(origin);
    await es.until(() => es.messages.length >= 2, "messages 1 and 2");
    expect(es.messages).toEqual([
      { id: 1, lastEventId: "1" },
      { id: 2, lastEventId: "2" },
    ]);
  });

  test("after the server drops the connection, the reconnect carries Last-Event-ID and gets what it missed", async () => {
    const { origin, server, feed } = await start({ retryMs: 20 });
    const requests = arrivals(server);
    const es = client(origin);
    const first = await requests.nth(1, "the EventSource connects at once");
    expect(first.lastEventId, "a first connection has no id to send").toBeUndefined();
    await post(origin);
    await post(origin);
    await es.until(() => es.messages.length >= 2, "messages 1 and 2");
    first.req.socket.destroy(); // the connection drops: a proxy, a network change, a restart
    feed.append({ author: "ada", text: "sent while the client was away" }); // id 3
    const second = await requests.nth(
      2,
      "a reconnect after the stream was cut: retry: 20 was sent, so it comes after 20 ms",
    );
    expect(
      second.lastEventId,
      "the reconnect sends back the id of the last event it got, as Last-Event-ID",
    ).toBe("2");
    await es.until(
      () => es.messages.length >= 3,
      "message 3, replayed from the feed on the reconnect",
    );
    await post(origin);
    await es.until(() => es.messages.length >= 4, "message 4, live after the replay");
    expect(
      es.messages.map((m) => m.id),
      "every message once, none lost in the drop, none repeated",
    ).toEqual([1, 2, 3, 4]);
  });

  test("retry is honoured: a short retry in the stream brings the reconnect long before the 3 s default", async () => {
    const { origin, server } = await start({ retryMs: 10 });
    const requests = arrivals(server);
    const es = client(origin);
    const first = await requests.nth(1, "the EventSource connects at once");
    await es.until(() => es.source.readyState === es.source.OPEN, "the stream to open");
    first.req.socket.destroy();
    await requests.nth(
      2,
      "the reconnect after retry: 10 ms. Without a retry line, the eventsource package waits its " +
        "default 3000 ms: is retry written at the start of the stream?",
    );
  });

  test("an id the feed no longer has arrives as an expired event, then the replay from the oldest kept", async () => {
    const { origin, server, feed } = await start({ retryMs: 20 });
    const requests = arrivals(server);
    const es = client(origin);
    const expired: { data: string; lastEventId: string }[] = [];
    es.source.addEventListener("expired", (event) => expired.push(event));
    const first = await requests.nth(1, "the EventSource connects at once");
    await post(origin);
    await es.until(() => es.messages.length >= 1, "message 1");
    first.req.socket.destroy();
    // While it is away, more arrive than the feed keeps (1,000): message 2 is gone.
    for (let i = 0; i < feed.maxMessages + 1; i++) feed.append({ author: "ada", text: `m${i}` });
    const second = await requests.nth(2, "the reconnect");
    expect(second.lastEventId).toBe("1");
    await es.until(() => es.messages.length >= 1 + feed.maxMessages, "the replay of what is kept");
    expect(expired.length, "one expired event before the replay").toBe(1);
    expect(JSON.parse(expired[0]?.data ?? "null")).toMatchObject({ oldestId: feed.oldestId });
    expect(
      es.messages[1]?.id,
      "after the expired event, the replay starts at the oldest message kept",
    ).toBe(feed.oldestId);
  });

  test("a 204 after finish() stops the eventsource package for good", async () => {
    const { origin, server } = await start({ retryMs: 10 });
    const requests = arrivals(server);
    const es = client(origin);
    await requests.nth(1, "the EventSource connects at once");
    await es.until(() => es.source.readyState === es.source.OPEN, "the stream to open");
    server.finish();
    await requests.nth(2, "the reconnect after the stream ended");
    await es.until(
      () => es.source.readyState === es.source.CLOSED,
      "the EventSource to close for good: the reconnect is answered 204",
    );
    expect(es.errors.at(-1)?.code, "it stopped because of the 204").toBe(204);
  });
});
