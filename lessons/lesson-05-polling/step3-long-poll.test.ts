import { once } from "node:events";
import http from "node:http";
import { afterEach, describe, expect, test, vi } from "vitest";
import { MessageFeed, type Message } from "#lesson/lesson-05-polling/feed.ts";
import { createServer } from "#lesson/lesson-05-polling/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { connect, Inbox } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import {
  abortListeners,
  answer,
  feedAddress,
  feedUrl,
  get,
  held,
  ids,
  poll,
  post,
  recordWaiting,
  rethrowStub,
  summary,
} from "./helpers.ts";

const HI = { author: "ada", text: "hi" };

/** A feed server whose feed the test can watch. */
async function start(options: Parameters<typeof createServer>[0] = {}) {
  const feed = new MessageFeed();
  const server = createServer({ ...options, feed });
  return { feed, server, url: await feedUrl(server) };
}

afterEach(() => {
  vi.useRealTimers();
});

/** A wait on the feed, bounded: waitFor() must have answered by now. */
function settled<T extends Message[] | Message[][]>(wait: Promise<T>, why: string): Promise<T> {
  return within(wait, `waitFor() to resolve: ${why}`);
}

/** How many abort listeners `signal` still has: a waiter that is gone must have removed its own. */
describe("Step 3: Long polling: hold, release, drop, cap", () => {
  test("waitFor resolves at once with what is newer when the cursor is behind, at most limit of them", async () => {
    const feed = new MessageFeed();
    for (let i = 0; i < 3; i++) feed.append(HI);
    const waiting = recordWaiting(feed);
    const messages = await settled(
      feed.waitFor(0, { timeoutMs: 60_000, limit: 2 }),
      "the cursor 0 is behind the feed, so there is nothing to wait for",
    );
    expect(
      messages.map((m) => m.id),
      "the limit holds here too",
    ).toEqual([1, 2]);
    expect(waiting, "nothing to wait for: no waiter was registered").toEqual([]);
  });

  test("waitFor with a signal already aborted resolves with nothing at once, and registers no waiter", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const abort = new AbortController();
    abort.abort();
    const wait = feed.waitFor(0, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    expect(
      feed.waiting,
      'an aborted signal never fires "abort" again: a waiter registered now would stay until its timeout',
    ).toBe(0);
    expect(vi.getTimerCount(), "no timer either").toBe(0);
    expect(await settled(wait, "the signal was already aborted")).toEqual([]);
  });

  test("waitFor holds until the next append, then resolves with it, leaving no timer and no listener", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const abort = new AbortController();
    const waiting = recordWaiting(feed);
    const wait = feed.waitFor(0, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    expect(feed.waiting).toBe(1);
    const message = feed.append(HI);
    expect(await settled(wait, "a message newer than its cursor was appended")).toEqual([message]);
    // Counted before abort(): aborting drops a { once: true } listener by itself, and would hide
    // one the release left behind.
    expect(
      abortListeners(abort.signal),
      "a released waiter's abort listener is removed (else the signal keeps it in memory)",
    ).toBe(0);
    expect(vi.getTimerCount(), "a released waiter's timer is cleared").toBe(0);
    abort.abort(); // too late: the waiter was released, and is not given up a second time
    expect(waiting, "the count of waiters went 0 -> 1 -> 0, once").toEqual([1, 0]);
  });

  test("waitFor with news already there and a signal already aborted resolves with the news", async () => {
    const feed = new MessageFeed();
    const message = feed.append(HI);
    const abort = new AbortController();
    abort.abort();
    const waiting = recordWaiting(feed);
    const messages = await settled(
      feed.waitFor(0, { timeoutMs: 60_000, limit: 10, signal: abort.signal }),
      "there is news, so there is nothing to wait for",
    );
    expect(
      messages,
      "the news wins over the abort: nothing is waited for, so there is nothing to give up",
    ).toEqual([message]);
    expect(waiting, "no waiter was registered").toEqual([]);
  });

  test("waitFor resolves with nothing when its time is up, and leaves no timer and no listener", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const abort = new AbortController();
    const waiting = recordWaiting(feed);
    const wait = feed.waitFor(0, { timeoutMs: 1_000, limit: 10, signal: abort.signal });
    expect(vi.getTimerCount(), "one timer for the wait").toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(await settled(wait, "its timeout of 1000 ms has passed")).toEqual([]);
    expect(feed.waiting).toBe(0);
    expect(waiting, '"waiting" reports the count when a wait times out too').toEqual([1, 0]);
    expect(vi.getTimerCount(), "the timer is gone").toBe(0);
    expect(abortListeners(abort.signal), "the abort listener is removed").toBe(0);
  });

  test("an aborted wait resolves with nothing at once; its waiter and its timer are gone", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const abort = new AbortController();
    const wait = feed.waitFor(0, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    expect(feed.waiting).toBe(1);
    abort.abort();
    expect(await settled(wait, "its signal aborted")).toEqual([]);
    expect(feed.waiting).toBe(0);
    expect(vi.getTimerCount(), "clearTimeout() when the wait ends early").toBe(0);
    feed.append(HI); // a released waiter must not be answered twice
    expect(feed.waiting).toBe(0);
  });

  test("one append releases every waiter at once: the count drops from 3 to 0 in one step", async () => {
    const feed = new MessageFeed();
    const waits = [0, 1, 2].map(() => feed.waitFor(0, { timeoutMs: 60_000, limit: 10 }));
    const waiting = recordWaiting(feed);
    const message = feed.append(HI);
    expect(waiting, "one 'waiting' event, straight to 0").toEqual([0]);
    expect(await settled(Promise.all(waits), "one append releases them all")).toEqual([
      [message],
      [message],
      [message],
    ]);
  });

  test("a waiter whose cursor is ahead of the feed keeps waiting", async () => {
    const feed = new MessageFeed();
    const abort = new AbortController();
    const wait = feed.waitFor(1, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    const waiting = recordWaiting(feed);
    feed.append(HI); // id 1: not newer than the cursor 1
    expect(feed.waiting, "message 1 is not news to a reader whose cursor is 1").toBe(1);
    expect(waiting, 'nobody was released: no "waiting" event').toEqual([]);
    abort.abort();
    expect(await settled(wait, "its signal aborted")).toEqual([]);
  });

  test("a long poll is held until a message is posted, then answered 200 with it", async () => {
    const { feed, url } = await start();
    const request = poll(url, "after=0&wait=60000");
    await held(feed, 1, { requests: [request] });
    const created = await post(url, HI);
    const released = await answer(request, "a message was posted");
    expect(released.status, summary(released)).toBe(200);
    expect(released.json).toEqual({ messages: [created.json], more: false });
    expect(released.headers.get("cache-control"), "a long poll's answer is no-store too").toBe(
      "no-store",
    );
    expect(
      released.headers.get("poll-wait-ms"),
      "every answer to a long poll says the wait applied, the 200 that releases it too",
    ).toBe("25000");
    expect(feed.waiting).toBe(0);
  });

  test("a HEAD long poll is held like the GET it mirrors, and answered 200 with no body", async () => {
    const { feed, url } = await start();
    const request = poll(url, "after=0&wait=60000", { method: "HEAD" });
    await held(feed, 1, { requests: [request] });
    await post(url, HI);
    const released = await answer(request, "a message was posted");
    expect(released.status, "RFC 9110 §9.3.2: HEAD is GET without the content").toBe(200);
    expect(released.text, "a HEAD response has no body").toBe("");
    expect(released.headers.get("content-type")).toMatch(/^application\/json/);
  });

  test("a long poll whose cursor is behind is answered at once, without waiting", async () => {
    const { feed, url } = await start();
    await post(url, HI);
    const waiting = recordWaiting(feed);
    const now = await get(url, "after=0&wait=60000");
    expect(now.status, summary(now)).toBe(200);
    expect(ids(now)).toEqual([1]);
    expect(
      now.headers.get("poll-wait-ms"),
      "the wait applied (capped at 25000), said even when none was needed",
    ).toBe("25000");
    expect(waiting, "the request was never held").toEqual([]);
  });

  test("a short poll carries no Poll-Wait-Ms: only a long poll's answers say the wait applied", async () => {
    const { url } = await start();
    await post(url, HI);
    for (const query of ["after=0", "after=1"]) {
      const now = await get(url, query);
      expect(now.status, summary(now)).toBe(200);
      expect(
        now.headers.get("poll-wait-ms"),
        `GET /messages?${query} has no wait: no wait was applied, so no Poll-Wait-Ms`,
      ).toBeNull();
    }
  });

  test("a long poll with a cursor older than what is kept is refused with 410 before any wait, and never held", async () => {
    const feed = new MessageFeed({ maxMessages: 3 });
    const url = await feedUrl(createServer({ feed }));
    for (let i = 1; i <= 5; i++) feed.append({ author: "ada", text: `m${i}` }); // keeps 3 to 5
    const waiting = recordWaiting(feed);
    const query = "after=1&wait=60000";
    const refused = await get(url, query);
    const why = explain(
      "a long poll whose cursor is behind the messages kept (ids 3 to 5): the 410 check comes " +
        "before the wait, or what is kept is answered as if nothing was lost",
      `GET /messages?${query} HTTP/1.1`,
      '410 {"code":"FEED_CURSOR_EXPIRED","error":...,"oldestId":3}',
      refused.text,
    );
    expect(refused.status, why).toBe(410);
    expect(refused.json, why).toEqual({
      code: "FEED_CURSOR_EXPIRED",
      error: expect.any(String),
      oldestId: 3,
    });
    expect(waiting, "a refused long poll registers no waiter").toEqual([]);
    expect(feed.waiting, "a refused long poll is not held").toBe(0);
  });

  test("a long poll whose wait ends with no news is answered 204, with no body at all", async () => {
    const feed = new MessageFeed();
    const { host, port } = await feedAddress(createServer({ feed }));
    const socket = await connect({ host, port });
    const inbox = new Inbox(socket);
    const request = `GET /messages?after=0&wait=20 HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    socket.write(request);
    const bytes = await within(
      inbox.until((b) => b.includes("\r\n\r\n"), "a response head"),
      () =>
        `Expected a 204 once the wait of 20 ms ended, but the server sent only ` +
        `${show(inbox.bytes())}: is the waiter given up when its timer fires, and answered 204?`,
    );
    rethrowStub(bytes);
    const text = bytes.toString("latin1");
    const why = explain(
      "a long poll that times out",
      request,
      "HTTP/1.1 204 No Content, no body",
      bytes,
    );
    expect(text.startsWith("HTTP/1.1 204 No Content\r\n"), why).toBe(true);
    expect(text, why).not.toMatch(/content-length|transfer-encoding/i);
    expect(text.endsWith("\r\n\r\n"), `${why}\nRFC 9110 §15.3.5: a 204 has no content`).toBe(true);
    expect(text, `${why}\nthe wait applied, 20 ms`).toMatch(/\r\npoll-wait-ms: 20\r\n/i);
    expect(text, `${why}\nno cache may keep it`).toMatch(/\r\ncache-control: no-store\r\n/i);
    expect(feed.waiting).toBe(0);
  });

  test("a wait over maxWaitMs is cut down to it, and the Poll-Wait-Ms header says so", async () => {
    const { url } = await start({ maxWaitMs: 30 });
    const answer = await within(
      poll(url, "after=0&wait=600000"),
      "a 204 for GET /messages?after=0&wait=600000 once its wait, cut down to maxWaitMs: 30, " +
        "ends: is a wait over maxWaitMs cut down to it before the poll is held?",
    );
    expect(answer.status, summary(answer)).toBe(204);
    expect(answer.headers.get("poll-wait-ms")).toBe("30");
  });

  test("one POST releases every waiting long poll: 5 polls waiting, one message, 5 answers", async () => {
    const { feed, url } = await start();
    const polls = Array.from({ length: 5 }, () => poll(url, "after=0&wait=60000"));
    await held(feed, 5, { requests: polls });
    const waiting = recordWaiting(feed);
    const created = await post(url, HI);
    const answers = await answer(Promise.all(polls), "a message was posted, for all 5");
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const answer of answers)
      expect(answer.json).toEqual({ messages: [created.json], more: false });
    expect(waiting, "all 5 were released by the one append").toEqual([0]);
  });

  test("a client that goes away while waiting is dropped: the count returns to 0 and the server closes", async () => {
    const { feed, server, url } = await start();
    // node:http's client with a connection of its own, so the test knows every socket it opened.
    const request = http.get(`${url}?after=0&wait=60000`, { agent: false });
    request.on("error", () => {}); // destroying it below fails it with "socket hang up"
    await held(feed, 1);
    request.destroy();
    await held(feed, 0, {
      hint:
        "the client went away, but its long poll is still counted. Is the waiter removed when " +
        'the response closes? The server must abort the wait on res.on("close", ...), and ' +
        "waitFor() must give up a waiter whose signal aborts",
    });
    server.close();
    await within(
      once(server, "close"),
      "the server to close: no connection is left open once the client has gone",
    );
  });

  test("answers 503 with Retry-After when maxWaiters polls are already waiting", async () => {
    const { feed, url } = await start({ maxWaiters: 2 });
    const polls = [poll(url, "after=0&wait=60000"), poll(url, "after=0&wait=60000")];
    await held(feed, 2, { requests: polls });
    const third = poll(url, "after=0&wait=60000");
    const refused = await within(
      third,
      () =>
        `2 long polls were held with maxWaiters: 2, and the third was not refused with 503 ` +
        `(${feed.waiting} waiting now): refuse a long poll when maxWaiters are already waiting`,
    );
    expect(refused.status, summary(refused)).toBe(503);
    expect(refused.headers.get("retry-after"), "RFC 9110 §10.2.3: when to try again").toBe("1");
    expect(refused.json, summary(refused)).toMatchObject({ code: "FEED_TOO_MANY_WAITERS" });
    expect(
      refused.headers.get("cache-control"),
      "every answer to a poll is no-store, the 503 that refuses it too",
    ).toBe("no-store");
    expect(
      refused.headers.get("poll-wait-ms"),
      "a refused long poll was not held: no wait was applied, so no Poll-Wait-Ms",
    ).toBeNull();
    await post(url, HI);
    const answers = await answer(Promise.all(polls), "a message was posted");
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
  });

  test("a long poll whose cursor is behind is answered even when every slot is taken: it is not held", async () => {
    const { url } = await start({ maxWaiters: 0 });
    await post(url, HI);
    const now = await get(url, "after=0&wait=60000");
    expect(now.status, `there is news, so no slot is needed: ${summary(now)}`).toBe(200);
    const refused = await get(url, "after=1&wait=60000");
    expect(refused.status, `up to date, and no slot free: ${summary(refused)}`).toBe(503);
  });

  testWithTool("curl", "install curl")(
    "a long poll made with curl is released by a message posted with fetch",
    async () => {
      const { feed, url } = await start();
      const curl = run("curl", ["-s", "-i", `${url}?after=0&wait=3000`]);
      const curlReply = curl.then(({ stdout }) => ({
        status: Number(stdout.split(" ")[1]),
        headers: new Headers(),
        text: stdout,
        json: undefined,
      }));
      await held(feed, 1, { requests: [curlReply] });
      const created = await post(url, HI);
      const { stdout } = await curl;
      expect(stdout, "curl's output").toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(stdout.slice(stdout.indexOf("\r\n\r\n") + 4)).toBe(
        JSON.stringify({ messages: [created.json], more: false }),
      );
    },
  );
});
