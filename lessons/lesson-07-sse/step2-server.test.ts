import { spawn } from "node:child_process";
import { once } from "node:events";
import type http from "node:http";
import { afterEach, describe, expect, test, vi } from "vitest";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf } from "../../shared/testing/errors.ts";
import { within } from "../../shared/testing/patience.ts";
import { RawClient } from "../../shared/testing/raw.ts";
import { testWithTool } from "../../shared/testing/tools.ts";
import {
  HI,
  openEvents,
  post,
  rawEvents,
  rethrowStub,
  serverLog,
  start,
  streamsBecome,
} from "./server-helpers.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** The ids and types of the events so far, to compare in one line. */
function seen(events: { id?: string; event?: string }[]): string[] {
  return events.map((e) => `${e.event ?? "message"} ${e.id ?? "(no id)"}`);
}

/** A feed that already has messages 1 to n. */
function feedWith(n: number, maxMessages = 1_000): MessageFeed {
  const feed = new MessageFeed({ maxMessages });
  for (let i = 1; i <= n; i++) feed.append({ author: "ada", text: `message ${i}` });
  return feed;
}

describe("Step 2: The event-stream server", () => {
  test("GET /events answers 200 text/event-stream, no-cache, and its head comes at once", async () => {
    const { origin } = await start();
    // openEvents() fails if the head does not come at once: nothing has been posted yet.
    const stream = await openEvents(origin, { "Accept-Encoding": "gzip, deflate, br" });
    const { status, headers } = stream.response;
    expect(status).toBe(200);
    expect(
      headers.get("content-type")?.split(";")[0]?.trim(),
      "an EventSource fails the connection unless the type is text/event-stream",
    ).toBe("text/event-stream");
    expect(
      headers.get("cache-control"),
      "each event is news once: no cache on the way may answer with an old copy",
    ).toBe("no-cache");
    expect(
      headers.get("content-encoding"),
      "no compression: a compressor holds bytes back until it has enough, and events must go at once",
    ).toBeNull();
    expect(
      headers.get("content-length"),
      "the stream has no end known in advance: no Content-Length",
    ).toBeNull();
  });

  test("the stream starts with a retry line, sent once", async () => {
    const { origin } = await start({ retryMs: 1234 });
    const stream = await openEvents(origin);
    await stream.until(
      () => stream.retries.length > 0,
      'a "retry: 1234" line first: how long the client waits before it reconnects',
    );
    expect(stream.text().startsWith("retry: 1234\n"), show(stream.text())).toBe(true);
    await post(origin);
    await post(origin);
    await stream.eventsAtLeast(2, "the two posted messages");
    expect(stream.retries, "retry once, at the start, not with every event").toEqual([1234]);
  });

  test("a posted message is pushed at once as an event: id the feed's id, type message, data its JSON", async () => {
    const { origin } = await start();
    const stream = await openEvents(origin);
    const created = await post(origin, HI);
    const [event] = await stream.eventsAtLeast(
      1,
      "the posted message as an event, written at once (no buffering: res.write() per event)",
    );
    expect(event?.id, "the id is the feed's id: the cursor a client sends back").toBe(
      String(created.id),
    );
    expect(event?.event).toBe("message");
    expect(JSON.parse(event?.data ?? "null")).toEqual(created);
  });

  test("each message is written when it comes, not gathered with the next", async () => {
    const { origin } = await start();
    const stream = await openEvents(origin);
    for (let i = 1; i <= 3; i++) {
      await post(origin, { author: "ada", text: `number ${i}` });
      await stream.eventsAtLeast(i, `event ${i} before message ${i + 1} is posted`);
    }
    expect(seen(stream.events)).toEqual(["message 1", "message 2", "message 3"]);
  });

  test("every open stream gets every message", async () => {
    const { origin, server } = await start();
    const streams = [await openEvents(origin), await openEvents(origin), await openEvents(origin)];
    await streamsBecome(server, 3, "three clients are connected");
    await post(origin);
    for (const stream of streams) await stream.eventsAtLeast(1, "the message, on every stream");
  });

  test("a first connection gets only what comes from now on", async () => {
    const { origin } = await start({ feed: feedWith(3) });
    const stream = await openEvents(origin);
    await post(origin);
    await stream.eventsAtLeast(1, "message 4");
    expect(
      seen(stream.events),
      "without Last-Event-ID the client has nothing yet to resume from: no replay",
    ).toEqual(["message 4"]);
  });

  test("Last-Event-ID: 3 replays every message after 3 from the feed, then goes on live", async () => {
    const { origin } = await start({ feed: feedWith(5) });
    const stream = await openEvents(origin, { "Last-Event-ID": "3" });
    await stream.eventsAtLeast(2, "messages 4 and 5, replayed at once from the feed");
    await post(origin);
    await stream.eventsAtLeast(3, "message 6, live after the replay");
    expect(
      seen(stream.events),
      "the client has 3 already (it sent it back): replay from 4, in order, each once",
    ).toEqual(["message 4", "message 5", "message 6"]);
  });

  test("Last-Event-ID of the newest message replays nothing", async () => {
    const { origin } = await start({ feed: feedWith(2) });
    const stream = await openEvents(origin, { "Last-Event-ID": "2" });
    await post(origin);
    await stream.eventsAtLeast(1, "message 3");
    expect(seen(stream.events)).toEqual(["message 3"]);
  });

  test("an id older than the feed keeps gets an expired event first, never a silent gap", async () => {
    // The feed keeps 3 messages: 4, 5 and 6. Messages 3 is gone.
    const { origin } = await start({ feed: feedWith(6, 3) });
    const stream = await openEvents(origin, { "Last-Event-ID": "2" });
    await stream.until(
      () => stream.events.some((event) => event.id === "6"),
      "an expired event, then the messages the feed still has, up to 6",
    );
    const [expired] = stream.events;
    expect(
      seen(stream.events),
      "message 3 is gone: say so (event: expired) before replaying 4 to 6, or the client never " +
        "knows. The expired event's id is the cursor the replay continues from, the id just " +
        "before the oldest kept (3), so that the replay starts with the oldest, 4",
    ).toEqual(["expired 3", "message 4", "message 5", "message 6"]);
    expect(
      JSON.parse(expired?.data ?? "null"),
      "the expired event names the oldest id kept, as lesson 05's 410 does",
    ).toMatchObject({ oldestId: 4 });
  });

  test("Last-Event-ID just before the oldest kept is not expired: nothing is missing", async () => {
    const { origin } = await start({ feed: feedWith(6, 3) });
    const stream = await openEvents(origin, { "Last-Event-ID": "3" });
    await stream.eventsAtLeast(3, "messages 4 to 6");
    expect(seen(stream.events)).toEqual(["message 4", "message 5", "message 6"]);
  });

  test.each([
    ["ahead of the feed (from another run of the server)", "99"],
    ["not an id of this feed", "abc"],
  ])("a Last-Event-ID %s gets an expired event too", async (_why, id) => {
    const { origin } = await start({ feed: feedWith(2) });
    const stream = await openEvents(origin, { "Last-Event-ID": id });
    await stream.eventsAtLeast(3, "an expired event, then messages 1 and 2");
    expect(
      seen(stream.events),
      `the feed never handed out ${id}: the client must start over, and be told so`,
    ).toEqual(["expired 0", "message 1", "message 2"]);
  });

  test.each([
    ["a sign", "+3"],
    ["a fraction", "3.0"],
    ["hex", "0x3"],
  ])("a Last-Event-ID with %s is not an id of this feed: only digits are", async (_what, id) => {
    const { origin } = await start({ feed: feedWith(5) });
    const stream = await openEvents(origin, { "Last-Event-ID": id });
    await stream.eventsAtLeast(1, "an expired event");
    expect(
      seen(stream.events)[0],
      `the feed hands out ids of ASCII digits only: ${JSON.stringify(id)} is none of them, even if ` +
        "Number() reads it as 3",
    ).toBe("expired 0");
  });

  test("a Last-Event-ID of two digits or more is read whole", async () => {
    const { origin } = await start({ feed: feedWith(12) });
    const stream = await openEvents(origin, { "Last-Event-ID": "10" });
    await stream.eventsAtLeast(2, "messages 11 and 12");
    expect(seen(stream.events)).toEqual(["message 11", "message 12"]);
  });

  test("an empty Last-Event-ID is a first connection: nothing to resume, nothing expired", async () => {
    const { origin } = await start({ feed: feedWith(2) });
    const stream = await openEvents(origin, { "Last-Event-ID": "" });
    await post(origin);
    await stream.eventsAtLeast(1, "message 3");
    expect(
      seen(stream.events),
      "a browser whose last event had no id sends no id: an empty one means the same",
    ).toEqual(["message 3"]);
  });

  test("a Last-Event-ID on an empty feed gets an expired event whose id starts it at 0", async () => {
    const { origin } = await start();
    const stream = await openEvents(origin, { "Last-Event-ID": "5" });
    await stream.eventsAtLeast(1, "an expired event: this run of the feed never had id 5");
    expect(
      seen(stream.events),
      "nothing is kept yet: the client starts over from 0, the cursor before any message",
    ).toEqual(["expired 0"]);
  });

  test("HEAD /events answers the head and ends: no stream is kept open", async () => {
    const { server, host, port } = await start();
    // A raw client that keeps its connection open (HTTP/1.1 is persistent): fetch would close it
    // after a HEAD, and that would release a stream opened by mistake.
    const client = await RawClient.open({ host, port });
    await client.send("HEAD /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n");
    const head = (
      await within(
        client.until((b) => b.includes("\r\n\r\n"), "the response's head"),
        "the head of the answer to HEAD /events: RFC 9110 §9.3.2, the GET's head with no content",
      )
    ).toString("latin1");
    rethrowStub(Number(head.slice(9, 12)));
    expect(head, "the answer to HEAD /events").toMatch(/^HTTP\/1\.1 200 /);
    expect(head, "the GET's Content-Type, in the HEAD's head").toMatch(
      /\r\ncontent-type: text\/event-stream/i,
    );
    await streamsBecome(
      server,
      0,
      "a HEAD gets the GET's head and no content (RFC 9110 §9.3.2), so there is no stream to " +
        "keep: end the response (res.end()) instead of counting it, with a heartbeat and a feed " +
        "listener, until the client leaves. The client's connection is still open",
    );
    // The HEAD's response has ended: the same connection carries the next request.
    await client.send("GET /messages?after=0 HTTP/1.1\r\nHost: test\r\n\r\n");
    await within(
      client.until((b) => b.toString("latin1").includes('{"messages":'), "the answer to GET"),
      () =>
        "the answer to a GET /messages sent after the HEAD on the same connection: a response " +
        `that never ends holds the connection.\n  received: ${show(client.received)}`,
    );
  });

  test("a bug before the head is sent is logged and answered 500, and the server goes on", async () => {
    class BrokenFeed extends MessageFeed {
      override after(id: number, limit: number) {
        if (id === 1) throw new Error("a bug in the feed");
        return super.after(id, limit);
      }
    }
    const feed = new BrokenFeed();
    const { origin } = await start({ feed });
    feed.append(HI);
    feed.append(HI);
    serverLog(); // the server is expected to log this bug: keep it out of the test's output
    const broken = await within(
      fetch(`${origin}/events`, { headers: { "Last-Event-ID": "1" } }),
      "an answer to GET /events whose replay throws",
    );
    const log = serverLog();
    expect(broken.status, "a bug is the server's: 500, not a stream cut short").toBe(500);
    expect(
      await broken.json(),
      "the 500's body names its code, as lesson 05's FEED_INTERNAL: { code: \"SSE_INTERNAL\", " +
        'error: "Internal server error" }',
    ).toMatchObject({ code: "SSE_INTERNAL" });
    expect(
      log.some((entry) => entry instanceof Error),
      "the bug is logged",
    ).toBe(true);
    const stream = await openEvents(origin);
    await post(origin);
    await stream.eventsAtLeast(1, "a message on a new stream: the server goes on serving");
  });

  test("a message that comes just after finish() is not written into the ended stream", async () => {
    const { origin, server, feed } = await start();
    // A write after res.end() fails with ERR_STREAM_WRITE_AFTER_END, emitted as the response's
    // "error": with no listener for it, that error would end the whole process. Listen, and say so.
    const failures: unknown[] = [];
    server.on("request", (_req, res: http.ServerResponse) => {
      res.on("error", (error) => failures.push(error));
    });
    const stream = await openEvents(origin);
    await streamsBecome(server, 1, "the client is connected");
    server.finish();
    feed.append(HI); // before the response's "close": the stream is ending, not yet released
    await within(stream.ended, "the stream to end");
    expect(
      failures.map(codeOf),
      "The message came after finish() had called res.end(), and before the response's " +
        '"close" released the stream: it was written all the same. A write after res.end() ' +
        'fails (ERR_STREAM_WRITE_AFTER_END, the response\'s "error"), and in a server with no ' +
        "listener for it, it ends the process. Write only into a stream that is still open (its " +
        'state, set to "closing" when it is ended)',
    ).toEqual([]);
    expect(stream.events, "nothing may be written after res.end()").toEqual([]);
  });

  test("a client that goes away is released: no stream counted, no listener left on the feed", async () => {
    const feed = new MessageFeed();
    const before = feed.listenerCount("message");
    const { origin, server } = await start({ feed });
    const streams = [await openEvents(origin), await openEvents(origin)];
    await streamsBecome(server, 2, "two clients are connected");
    for (const stream of streams) stream.abort();
    await streamsBecome(
      server,
      0,
      'both clients went away: on the response\'s "close", remove the stream from the set',
    );
    expect(
      feed.listenerCount("message"),
      'a gone stream\'s "message" listener must go too, or the feed keeps every stream in memory',
    ).toBe(before);
    await post(origin); // and nothing breaks when the next message comes
  });

  test("a quiet stream gets a comment as a heartbeat every heartbeatMs, and a gone one stops its timer", async () => {
    const { server, host, port } = await start({ heartbeatMs: 1_000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const client = await rawEvents({ host, port });
    await streamsBecome(server, 1, "the client is connected");
    expect(
      client.received.toString("latin1"),
      "no heartbeat before heartbeatMs has passed",
    ).not.toMatch(/\n:/);
    vi.advanceTimersByTime(1_000);
    await client.until(
      (b) => /\n: ?\S*/.test(b.toString("latin1")),
      "a comment line (starting with a colon) after heartbeatMs: it keeps a quiet stream moving",
    );
    client.socket.destroy();
    await streamsBecome(server, 0, "the client went away");
    expect(
      vi.getTimerCount(),
      "the heartbeat timer of a gone stream must be cleared, or it fires forever into nothing",
    ).toBe(0);
  });

  test("a client that does not read is dropped once maxBufferedBytes are waiting; the others go on", async () => {
    const feed = new MessageFeed({ maxMessages: 10 });
    const { origin, server, host, port } = await start({ feed, maxBufferedBytes: 64 * 1024 });
    const slow = await rawEvents({ host, port });
    slow.socket.pause(); // reads nothing from now on: the kernel's buffers fill, then the server's
    await streamsBecome(server, 1, "the slow client is connected");
    const big = { author: "ada", text: "x".repeat(64 * 1024) };
    let sent = 0;
    // Up to 48 MiB: far more than the kernel buffers on both sides and the cap together.
    while (server.streams > 0 && sent < 768) {
      feed.append(big);
      sent++;
      if (sent % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await streamsBecome(
      server,
      0,
      `the slow client is still connected after ${sent} messages of 64 KiB: when res.write() ` +
        "returns false and res.writableLength is over maxBufferedBytes, drop the client " +
        "(res.destroy()) instead of buffering without end",
    );
    const other = await openEvents(origin);
    await post(origin);
    await other.eventsAtLeast(1, "a message on a new stream: the server goes on serving");
  });

  test("finish() ends every stream, and GET /events is then answered 204: stop reconnecting", async () => {
    const { origin, server } = await start();
    const stream = await openEvents(origin);
    await streamsBecome(server, 1, "the client is connected");
    server.finish();
    expect(
      await within(stream.ended, "the stream to end: finish() ends every open stream"),
      "the stream ends cleanly (res.end()), not with a reset",
    ).toBe("ended");
    await streamsBecome(server, 0, "the ended stream is released");
    const again = await within(
      fetch(`${origin}/events`),
      "an answer to GET /events after finish()",
    );
    expect(
      again.status,
      'HTML standard: "a client can be told to stop reconnecting using the HTTP 204 No Content response code"',
    ).toBe(204);
    const poll = await within(fetch(`${origin}/messages?after=0`), "GET /messages after finish()");
    expect(poll.status, "the rest of the server goes on serving").toBe(200);
  });

  test("close() ends every stream, so the server can close", async () => {
    const { origin, server } = await start();
    const streams = [await openEvents(origin), await openEvents(origin)];
    await streamsBecome(server, 2, "two clients are connected");
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const stream of streams) {
      expect(
        await within(stream.ended, "the stream to end when the server closes"),
        "a stream is never idle: close() must end it (res.end()), or the server waits forever",
      ).toBe("ended");
    }
    await within(closed, "the server's close callback, once every stream has ended");
    expect(server.streams).toBe(0);
  });

  test("lesson 05's feed API goes on working beside the streams, on the same feed", async () => {
    const { origin, feed } = await start();
    const created = await post(origin, HI);
    expect(feed.lastId).toBe(created.id);
    const poll = await within(fetch(`${origin}/messages?after=0`), "GET /messages?after=0");
    rethrowStub(poll.status);
    expect(await poll.json()).toEqual({ messages: [created], more: false });
  });

  testWithTool("curl", "apt-get install curl, or brew install curl")(
    "curl -N with Last-Event-ID: 3 prints the replay from 4, then what is posted",
    async () => {
      const { server, feed, origin } = await start({ feed: feedWith(5) });
      const curl = spawn("curl", ["-sN", "-H", "Last-Event-ID: 3", `${origin}/events`]);
      let out = "";
      curl.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
      const exited = once(curl, "exit");
      try {
        await Promise.race([
          streamsBecome(server, 1, "curl is connected"),
          exited.then(() => {
            rethrowStub();
            throw new Error(`curl exited before the stream opened; it printed:\n${out}`);
          }),
        ]);
        feed.append({ author: "ada", text: "live" });
        server.finish(); // ends the stream after what was written: curl prints it all and exits
        await within(exited, "curl to exit once the stream ends");
      } finally {
        curl.kill();
      }
      const ids = [...out.matchAll(/^id: ?(\S+)$/gm)].map((m) => m[1]);
      expect(ids, `curl printed:\n${out}`).toEqual(["4", "5", "6"]);
      expect(out).toContain('"text":"live"');
    },
  );
});
