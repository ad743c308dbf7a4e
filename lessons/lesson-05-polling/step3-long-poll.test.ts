import { once } from "node:events";
import http from "node:http";
import { afterEach, describe, expect, test, vi } from "vitest";
import { MessageFeed } from "#lesson/lesson-05-polling/feed.ts";
import { createServer } from "#lesson/lesson-05-polling/server.ts";
import { explain } from "../../shared/testing/bytes.ts";
import { connect, Inbox, listen } from "../../shared/testing/net.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { feedUrl, get, held, ids, post, recordWaiting, summary } from "./helpers.ts";

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

describe("Step 3: Long polling: hold, release, drop, cap", () => {
  test("waitFor resolves at once with what is newer when the cursor is behind", async () => {
    const feed = new MessageFeed();
    feed.append(HI);
    const waiting = recordWaiting(feed);
    const messages = await feed.waitFor(0, { timeoutMs: 60_000, limit: 10 });
    expect(messages.map((m) => m.id)).toEqual([1]);
    expect(waiting, "nothing to wait for: no waiter was registered").toEqual([]);
  });

  test("waitFor holds until the next append, then resolves with it", async () => {
    const feed = new MessageFeed();
    const waiting = recordWaiting(feed);
    const wait = feed.waitFor(0, { timeoutMs: 60_000, limit: 10 });
    expect(feed.waiting).toBe(1);
    const message = feed.append(HI);
    expect(await wait).toEqual([message]);
    expect(waiting, "the count of waiters went 0 -> 1 -> 0").toEqual([1, 0]);
  });

  test("waitFor resolves with nothing when its time is up, and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const wait = feed.waitFor(0, { timeoutMs: 1_000, limit: 10 });
    expect(vi.getTimerCount(), "one timer for the wait").toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(await wait).toEqual([]);
    expect(feed.waiting).toBe(0);
    expect(vi.getTimerCount(), "the timer is gone").toBe(0);
  });

  test("an aborted wait resolves with nothing at once; its waiter and its timer are gone", async () => {
    vi.useFakeTimers();
    const feed = new MessageFeed();
    const abort = new AbortController();
    const wait = feed.waitFor(0, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    expect(feed.waiting).toBe(1);
    abort.abort();
    expect(await wait).toEqual([]);
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
    expect(await Promise.all(waits)).toEqual([[message], [message], [message]]);
  });

  test("a waiter whose cursor is ahead of the feed keeps waiting", async () => {
    const feed = new MessageFeed();
    const abort = new AbortController();
    const wait = feed.waitFor(5, { timeoutMs: 60_000, limit: 10, signal: abort.signal });
    feed.append(HI); // id 1: not newer than 5
    expect(feed.waiting).toBe(1);
    abort.abort();
    expect(await wait).toEqual([]);
  });

  test("a long poll is held until a message is posted, then answered 200 with it", async () => {
    const { feed, url } = await start();
    const poll = get(url, "after=0&wait=60000");
    await held(feed, 1, { requests: [poll] });
    const created = await post(url, HI);
    const answer = await poll;
    expect(answer.status, summary(answer)).toBe(200);
    expect(answer.json).toEqual({ messages: [created.json], more: false });
    expect(feed.waiting).toBe(0);
  });

  test("a HEAD long poll is held like the GET it mirrors, and answered 200 with no body", async () => {
    const { feed, url } = await start();
    const poll = get(url, "after=0&wait=60000", { method: "HEAD" });
    await held(feed, 1, { requests: [poll] });
    await post(url, HI);
    const answer = await poll;
    expect(answer.status, "RFC 9110 §9.3.2: HEAD is GET without the content").toBe(200);
    expect(answer.text, "a HEAD response has no body").toBe("");
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  });

  test("a long poll whose cursor is behind is answered at once, without waiting", async () => {
    const { feed, url } = await start();
    await post(url, HI);
    const waiting = recordWaiting(feed);
    const answer = await get(url, "after=0&wait=60000");
    expect(answer.status, summary(answer)).toBe(200);
    expect(ids(answer)).toEqual([1]);
    expect(waiting, "the request was never held").toEqual([]);
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
        "before holdPoll(), or what is kept is answered as if nothing was lost",
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
    const { host, port } = await listen(createServer({ feed }));
    const socket = await connect({ host, port });
    const inbox = new Inbox(socket);
    const request = `GET /messages?after=0&wait=20 HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    socket.write(request);
    const bytes = await inbox.until((b) => b.includes("\r\n\r\n"), "a response head");
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
    expect(feed.waiting).toBe(0);
  });

  test("a wait over maxWaitMs is cut down to it, and the Poll-Wait-Ms header says so", async () => {
    const { url } = await start({ maxWaitMs: 30 });
    const answer = await get(url, "after=0&wait=600000");
    expect(answer.status, summary(answer)).toBe(204);
    expect(answer.headers.get("poll-wait-ms")).toBe("30");
  });

  test("one POST releases every waiting long poll: 5 polls waiting, one message, 5 answers", async () => {
    const { feed, url } = await start();
    const polls = Array.from({ length: 5 }, () => get(url, "after=0&wait=60000"));
    await held(feed, 5, { requests: polls });
    const waiting = recordWaiting(feed);
    const created = await post(url, HI);
    const answers = await Promise.all(polls);
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
        'the response closes? holdPoll() must abort the wait on res.on("close", ...), and ' +
        "waitFor() must settle a waiter whose signal aborts",
    });
    server.close();
    await once(server, "close");
  });

  test("answers 503 with Retry-After when maxWaiters polls are already waiting", async () => {
    const { feed, url } = await start({ maxWaiters: 2 });
    const polls = [get(url, "after=0&wait=60000"), get(url, "after=0&wait=60000")];
    await held(feed, 2, { requests: polls });
    const refused = await get(url, "after=0&wait=60000");
    expect(refused.status, summary(refused)).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.json).toMatchObject({ code: "FEED_TOO_MANY_WAITERS" });
    await post(url, HI);
    expect((await Promise.all(polls)).map((a) => a.status)).toEqual([200, 200]);
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
