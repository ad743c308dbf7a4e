import http from "node:http";
import fc from "fast-check";
import { afterEach, describe, expect, onTestFinished, test, vi } from "vitest";
import { backoffDelay, sleep } from "#lesson/lesson-05-polling/backoff.ts";
import { longPoll, shortPoll, type Retry } from "#lesson/lesson-05-polling/client.ts";
import type { Message } from "#lesson/lesson-05-polling/feed.ts";
// The clients are checked against the reference server, so that a failure here is the client's.
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { createServer } from "#reference/lesson-05-polling/server.ts";
import { codeOf, rejectionOf } from "../../shared/testing/errors.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { deferred } from "../../shared/testing/raw.ts";
import { abortListeners, feedUrl, held, rethrowIfNotWritten, stopper } from "./helpers.ts";

const FAST = { baseMs: 2, maxMs: 8 };

afterEach(() => {
  vi.useRealTimers();
});

/** The reference server on port 0, with its feed. */
async function reference(options: { batchLimit?: number; maxMessages?: number } = {}) {
  const { maxMessages, ...serverOptions } = options;
  const feed = new MessageFeed({ maxMessages });
  const url = await feedUrl(createServer({ ...serverOptions, feed }));
  return { feed, url };
}

/** The iterator's next step, bounded: `expected` says what should have come. */
function step(
  messages: AsyncGenerator<Message, void, undefined>,
  expected: string,
): Promise<IteratorResult<Message, void>> {
  return within(messages.next(), `${expected} from the iterator's next()`);
}

/** The error the iterator's next step rejects with, bounded. */
function failure(
  messages: AsyncGenerator<Message, void, undefined>,
  expected: string,
): Promise<unknown> {
  return rejectionOf(() => within(messages.next(), `the iterator's next() to reject: ${expected}`));
}

function say(feed: MessageFeed, text: string): Message {
  return feed.append({ author: "ada", text });
}

/**
 * A node:http server that answers request number n (1, 2, ...) with `answer(n, res)`, and keeps
 * the target of each request it received and the client's port it came from (one per connection).
 */
async function scripted(answer: (n: number, res: http.ServerResponse) => void) {
  const targets: string[] = [];
  const ports: (number | undefined)[] = [];
  const accepts: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    targets.push(req.url ?? "");
    accepts.push(req.headers.accept);
    ports.push(req.socket.remotePort);
    answer(targets.length, res);
  });
  return { url: await feedUrl(server), targets, ports, accepts, requests: () => targets.length };
}

function batch(res: http.ServerResponse, ...messages: Message[]): void {
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ messages, more: false }));
}

function fail(res: http.ServerResponse, status: number): void {
  res.statusCode = status;
  res.end(JSON.stringify({ error: `status ${status}` }));
}

const M1: Message = { id: 1, author: "ada", text: "one", at: "2026-01-01T00:00:00.000Z" };
const M2: Message = { id: 2, author: "ada", text: "two", at: "2026-01-01T00:00:01.000Z" };

describe("Step 4: The polling clients: backoff and abort", () => {
  test("backoffDelay grows its ceiling as baseMs × 2^attempt, up to maxMs", () => {
    const nearlyOne = () => 0.9999;
    const delays = [0, 1, 2, 3, 4, 5, 40].map((attempt) =>
      backoffDelay(attempt, { baseMs: 100, maxMs: 1_000 }, nearlyOne),
    );
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(
      backoffDelay(3, { baseMs: 100, maxMs: 1_000 }, () => 0),
      "random() = 0",
    ).toBe(0);
  });

  test("backoffDelay is full jitter: a whole number in [0, min(maxMs, baseMs × 2^attempt))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const delay = backoffDelay(attempt, { baseMs, maxMs }, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(maxMs, baseMs * 2 ** attempt));
        },
      ),
    );
  });

  test("backoffDelay gives every whole number below the ceiling an equal share of random()'s range, the ends too", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.nat({ max: 999 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        (ceiling, n, offset) => {
          // random() in [k / ceiling, (k + 1) / ceiling) is the share of k: its delay is k.
          const k = n % ceiling;
          const r = (k + offset) / ceiling;
          expect(
            backoffDelay(0, { baseMs: ceiling, maxMs: ceiling }, () => r),
            `random() = ${r} with a ceiling of ${ceiling} falls in the share of ${k}: uniform ` +
              "means each of 0 .. ceiling - 1 gets 1 / ceiling of random()'s range. Rounding gives " +
              "0 and ceiling - 1 only half a share each; round down instead",
          ).toBe(k);
        },
      ),
    );
  });

  test("sleep resolves with true after its time, and leaves no timer", async () => {
    vi.useFakeTimers();
    const signal = new AbortController().signal;
    const slept = sleep(1_000, signal);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(await within(slept, "sleep() to resolve once its time has passed")).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(
      abortListeners(signal),
      "its abort listener is removed once the time has passed (else the signal keeps it)",
    ).toBe(0);
  });

  test("sleep resolves with false as soon as the signal aborts, and clears its timer", async () => {
    vi.useFakeTimers();
    const abort = stopper();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    expect(await within(slept, "sleep() to resolve false when its signal aborts")).toBe(false);
    expect(vi.getTimerCount(), "clearTimeout() on abort").toBe(0);
    expect(
      abortListeners(abort.signal),
      "its abort listener is gone once it has run ({ once: true }, or remove it)",
    ).toBe(0);
    // A signal that is already aborted: no timer at all (checked before awaiting, so a sleep that
    // starts one fails here rather than hanging on a fake clock that never moves).
    const again = sleep(60_000, abort.signal);
    expect(vi.getTimerCount(), "no timer for a signal already aborted").toBe(0);
    expect(await within(again, "sleep() to resolve false at once"), "already aborted").toBe(false);
  });

  test("shortPoll yields what is there, then each new message, once, in order", async () => {
    const { feed, url } = await reference();
    say(feed, "one");
    say(feed, "two");
    const abort = stopper();
    const messages = shortPoll({ url, intervalMs: 5, signal: abort.signal });
    expect((await step(messages, "a message")).value).toMatchObject({ id: 1, text: "one" });
    expect((await step(messages, "a message")).value).toMatchObject({ id: 2, text: "two" });
    const next = messages.next();
    say(feed, "three");
    expect((await within(next, "message 3, at the next poll")).value).toMatchObject({
      id: 3,
      text: "three",
    });
    abort.abort();
    expect(await step(messages, "the end"), "after abort, the iterator is done").toEqual({
      done: true,
      value: undefined,
    });
  });

  test("shortPoll starts after the given cursor", async () => {
    const { feed, url } = await reference();
    for (const text of ["one", "two", "three"]) say(feed, text);
    const abort = stopper();
    const messages = shortPoll({ url, intervalMs: 5, after: 2, signal: abort.signal });
    expect((await step(messages, "a message")).value).toMatchObject({ id: 3 });
    abort.abort();
  });

  test("shortPoll asks again at once, without its pause, while the server says more", async () => {
    const { feed, url } = await reference({ batchLimit: 2 });
    for (let i = 1; i <= 5; i++) say(feed, `m${i}`);
    const abort = stopper(); // ends a pause the client should not have taken
    // A one-minute interval: reaching the fifth message proves no pause came between the batches.
    const got: number[] = [];
    const reading = (async () => {
      for await (const message of shortPoll({ url, intervalMs: 60_000, signal: abort.signal })) {
        got.push(message.id);
        if (got.length === 5) break;
      }
    })();
    await within(
      reading,
      () =>
        `Got ids ${JSON.stringify(got)} of [1,2,3,4,5], then nothing for ${PATIENCE_MS} ms. ` +
        `The server answers in batches of 2 with "more": true until the last one: the client ` +
        `must ask again at once after such a batch, not pause intervalMs (a minute here).`,
    );
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  test.each([
    { what: "a batch with nothing more waiting", answer: (res: http.ServerResponse) => batch(res) },
    {
      what: "a 204 (an empty batch)",
      answer: (res: http.ServerResponse) => {
        res.statusCode = 204;
        res.end();
      },
    },
  ])("shortPoll pauses intervalMs after $what", async ({ answer }) => {
    const server = await scripted((_n, res) => answer(res));
    // Watch the timers the client starts (as sleep() does), to see its pause begin.
    const realSetTimeout = globalThis.setTimeout;
    const timers = vi.spyOn(globalThis, "setTimeout");
    const pausing = deferred();
    timers.mockImplementation(((callback: () => void, ms?: number) => {
      if (ms === 60_000) pausing.resolve();
      return realSetTimeout(callback, ms);
    }) as typeof setTimeout);
    onTestFinished(() => timers.mockRestore());
    const abort = stopper();
    const messages = shortPoll({ url: server.url, intervalMs: 60_000, signal: abort.signal });
    const next = messages.next();
    const early = next.then((result) => {
      throw new Error(`The iterator gave ${JSON.stringify(result)} where it should pause`);
    });
    await within(
      Promise.race([pausing.promise, early]),
      () =>
        `The client made ${server.requests()} requests and no pause of intervalMs (60000 ms): ` +
        `after a batch with "more": false (a 204 is an empty one), sleep(intervalMs) before ` +
        `the next poll`,
    );
    expect(server.requests(), "one poll, then the pause").toBe(1);
    abort.abort();
    expect(await within(next, "the end, once aborted in the pause")).toEqual({
      done: true,
      value: undefined,
    });
  });

  test.each([
    {
      name: "shortPoll",
      start: (url: string, signal: AbortSignal) => shortPoll({ url, intervalMs: 60_000, signal }),
    },
    {
      name: "longPoll",
      start: (url: string, signal: AbortSignal) => longPoll({ url, waitMs: 60_000, signal }),
    },
  ])("$name asks for JSON: Accept: application/json", async ({ start }) => {
    const server = await scripted((_n, res) => batch(res, M1));
    const abort = stopper();
    const messages = start(server.url, abort.signal);
    expect(await within(messages.next(), "the first message")).toEqual({ done: false, value: M1 });
    abort.abort();
    expect(await within(messages.next(), "the end, once aborted")).toEqual({
      done: true,
      value: undefined,
    });
    expect(
      server.accepts[0],
      "RFC 9110 §12.5.1: the client says which media type it reads, application/json",
    ).toMatch(/^application\/json/);
  });

  test("stops between two messages of one batch when aborted while the consumer holds the first", async () => {
    const { feed, url } = await reference();
    for (const text of ["one", "two", "three"]) say(feed, text);
    const abort = stopper();
    const messages = shortPoll({ url, intervalMs: 5, signal: abort.signal });
    expect((await step(messages, "a message")).value).toMatchObject({ id: 1 });
    // Messages 2 and 3 came in the same batch, and are already in the client's hands.
    abort.abort();
    expect(
      await step(messages, "the end"),
      "after abort, the iterator is done, even with messages of the last batch left: check " +
        "signal.aborted after each yield",
    ).toEqual({ done: true, value: undefined });
  });

  test("longPoll keeps a request waiting at the server and yields a message as soon as it is posted", async () => {
    const { feed, url } = await reference();
    const abort = stopper();
    const messages = longPoll({ url, waitMs: 60_000, signal: abort.signal });
    const next = messages.next();
    await held(feed, 1);
    const message = say(feed, "hello");
    expect((await within(next, "the message just posted")).value).toEqual(message);
    abort.abort();
    const ended = await within(
      messages.next(),
      `the iterator to end after the abort, within ${PATIENCE_MS} ms: its next request is held ` +
        "at the server for a minute, so pass the signal to fetch(), and return when it aborts",
    );
    expect(ended.done).toBe(true);
  });

  test("longPoll returns cleanly when aborted while its request is waiting, and the server drops it", async () => {
    const { feed, url } = await reference();
    const abort = stopper();
    const retries: Retry[] = [];
    const messages = longPoll({
      url,
      waitMs: 60_000,
      signal: abort.signal,
      backoff: FAST,
      onRetry: (retry) => retries.push(retry),
    });
    const next = messages.next().catch((error: unknown) => {
      rethrowIfNotWritten(error);
      throw new Error(
        `The iterator threw after the abort (${codeOf(error)}), where it ` +
          "should return: an abort is the caller's choice to stop, not an error. When the " +
          "request fails, look at signal.aborted first, and return if it is set",
        { cause: error },
      );
    });
    await held(feed, 1);
    abort.abort();
    const ended = await within(
      next,
      () =>
        `The iterator was still waiting ${PATIENCE_MS} ms after the abort: is the signal passed ` +
        `to fetch(), so that aborting it ends the request, and does the iterator return then?`,
    );
    expect(ended, "the iterator returns; it does not throw").toEqual({
      done: true,
      value: undefined,
    });
    expect(
      retries.map((retry) => codeOf(retry.error)),
      "an abort is not an error to retry: onRetry() is not called for it. When the request " +
        "fails, look at signal.aborted before anything else",
    ).toEqual([]);
    await held(feed, 0, {
      hint:
        "the client aborted, but the server still holds its request. Is the signal passed to " +
        "fetch(), so that aborting it closes the request?",
    });
  });

  test("longPoll asks again at once after a 204, from the same cursor", async () => {
    const server = await scripted((n, res) => {
      if (n === 1) batch(res, M1);
      else if (n === 2) res.writeHead(204).end();
      else batch(res, M2);
    });
    const abort = stopper();
    const got: number[] = [];
    const reading = (async () => {
      for await (const message of longPoll({ url: server.url, waitMs: 50, signal: abort.signal })) {
        got.push(message.id);
        if (got.length === 2) break;
      }
    })();
    await within(
      reading,
      () =>
        `Got ids ${JSON.stringify(got)} of [1,2], after requests ${JSON.stringify(server.targets)}: ` +
        "a 204 is an empty batch, and the long poll asks again at once from the same cursor",
    );
    expect(got).toEqual([1, 2]);
    expect(server.targets).toEqual([
      "/messages?after=0&wait=50",
      "/messages?after=1&wait=50",
      "/messages?after=1&wait=50",
    ]);
  });

  test("retries 500, 503, 429 and 502 with a growing backoff, then yields", async () => {
    const statuses = [500, 503, 429, 502];
    const server = await scripted((n, res) =>
      n <= statuses.length ? fail(res, statuses[n - 1]!) : batch(res, M1),
    );
    const retries: Retry[] = [];
    const abort = stopper();
    const messages = longPoll({
      url: server.url,
      waitMs: 1_000,
      signal: abort.signal,
      backoff: FAST,
      random: () => 0.5,
      onRetry: (retry) => retries.push(retry),
    });
    const first = await step(messages, "a message").catch((error: unknown) => {
      rethrowIfNotWritten(error);
      const status = (error as { status?: unknown } | null)?.status;
      throw new Error(
        `The iterator threw ${codeOf(error)}${status === undefined ? "" : ` (status ${status})`} ` +
          `after ${retries.length} retries, where it should retry: a 5xx is the server failing, ` +
          "and a 429 asks the client to slow down (RFC 6585 §4); both are worth another try, " +
          "after a pause",
        { cause: error },
      );
    });
    expect(first.value).toEqual(M1);
    abort.abort();
    expect(
      retries.map(({ attempt, delayMs, error }) => ({ attempt, delayMs, status: error.status })),
    ).toEqual([
      { attempt: 0, delayMs: 1, status: 500 },
      { attempt: 1, delayMs: 2, status: 503 },
      { attempt: 2, delayMs: 4, status: 429 },
      { attempt: 3, delayMs: 4, status: 502 },
    ]);
    expect(server.requests()).toBe(5);
  });

  test("reads the whole body of an error before it retries, so that the retry reuses the connection", async () => {
    // 1 MiB: more than the socket and fetch buffer, so an unread body holds up its connection.
    const body = "x".repeat(1024 * 1024);
    const server = await scripted((n, res) => {
      if (n > 1) return batch(res, M1);
      res.statusCode = 503;
      res.end(body);
    });
    const abort = stopper();
    const messages = longPoll({
      url: server.url,
      waitMs: 1_000,
      signal: abort.signal,
      backoff: FAST,
    });
    expect((await step(messages, "a message")).value).toEqual(M1);
    abort.abort();
    expect(server.requests()).toBe(2);
    expect(
      server.ports[1],
      `The retry came from client port ${server.ports[1]}, the 503 went to port ` +
        `${server.ports[0]}: a new connection. A response's connection is free for the next ` +
        `request only once its body has been read (keep-alive, lesson 04): read the body of ` +
        `an error too.`,
    ).toBe(server.ports[0]);
  });

  test("starts the backoff over after a success", async () => {
    // 503, then M1, then 503 twice, then M2.
    const server = await scripted((n, res) =>
      n === 2 ? batch(res, M1) : n === 5 ? batch(res, M2) : fail(res, 503),
    );
    const retries: Retry[] = [];
    const abort = stopper();
    const messages = shortPoll({
      url: server.url,
      intervalMs: 1,
      signal: abort.signal,
      backoff: FAST,
      onRetry: (retry) => retries.push(retry),
    });
    expect((await step(messages, "a message")).value).toEqual(M1);
    expect((await step(messages, "a message")).value).toEqual(M2);
    abort.abort();
    expect(retries.map((r) => r.attempt)).toEqual([0, 0, 1]);
  });

  test("retries when the connection fails before a response", async () => {
    const server = await scripted((n, res) => (n === 1 ? res.socket?.destroy() : batch(res, M1)));
    const retries: Retry[] = [];
    const abort = stopper();
    const messages = shortPoll({
      url: server.url,
      intervalMs: 1,
      signal: abort.signal,
      backoff: FAST,
      onRetry: (retry) => retries.push(retry),
    });
    expect((await step(messages, "a message")).value).toEqual(M1);
    abort.abort();
    expect(retries.map((r) => r.error.code)).toEqual(["FEED_NETWORK_ERROR"]);
    expect(
      retries[0]?.error.cause,
      "the FEED_NETWORK_ERROR keeps fetch's own error as its cause",
    ).toBeInstanceOf(Error);
  });

  test("throws on a 4xx other than 429: the request is wrong, and asking again will not fix it", async () => {
    const server = await scripted((_n, res) => fail(res, 400));
    const abort = stopper();
    const messages = longPoll({
      url: server.url,
      waitMs: 1_000,
      signal: abort.signal,
      backoff: FAST,
    });
    const error = await failure(messages, "a 400 is not retried");
    expect(codeOf(error), `after ${server.requests()} requests`).toBe("FEED_UNEXPECTED_STATUS");
    expect(error).toMatchObject({ name: "FeedError", status: 400 });
    expect(server.requests(), "no retry").toBe(1);
  });

  test("returns at once when aborted during a backoff pause", async () => {
    const server = await scripted((_n, res) => fail(res, 503));
    const abort = stopper();
    const retrying = deferred();
    const messages = longPoll({
      url: server.url,
      waitMs: 1_000,
      signal: abort.signal,
      // A pause of 30 s: the test is over long before it would end.
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      random: () => 0.5,
      onRetry: () => retrying.resolve(),
    });
    const next = messages.next();
    // The iterator ending (or failing) before its first retry fails the test with what it did.
    const early = next.then((result) => {
      throw new Error(`The iterator gave ${JSON.stringify(result)} instead of retrying the 503`);
    });
    await within(
      Promise.race([retrying.promise, early]),
      "onRetry() to be called for the 503, before the pause",
    );
    abort.abort();
    const ended = await within(
      next,
      () =>
        `The iterator was still waiting ${PATIENCE_MS} ms after the abort, in a pause of 30 s: ` +
        `does sleep() resolve false as soon as the signal aborts, and does the iterator return then?`,
    );
    expect(ended).toEqual({ done: true, value: undefined });
    expect(server.requests()).toBe(1);
  });

  test("throws FEED_CURSOR_EXPIRED with the oldest id kept on a 410, without retrying: those messages are gone", async () => {
    const { feed, url } = await reference({ maxMessages: 3 });
    for (let i = 1; i <= 5; i++) say(feed, `m${i}`); // ids 1 and 2 are dropped
    const retries: Retry[] = [];
    const retried = deferred<Retry>();
    const abort = stopper();
    const messages = longPoll({
      url,
      waitMs: 60_000,
      after: 1,
      signal: abort.signal,
      backoff: FAST,
      onRetry: (retry) => {
        retries.push(retry);
        retried.resolve(retry);
      },
    });
    // A client that retries the 410 asks again forever: fail at its first retry, saying so.
    const failed = failure(messages, "a cursor of 1 has missed message 2");
    failed.catch(() => {}); // the race below may be lost: its end is not the test's
    const error = await Promise.race([
      failed,
      retried.promise.then((retry) => {
        throw new Error(
          `The client retried the 410 (onRetry() was called with ${codeOf(retry.error)}): a 410 ` +
            "says the messages after the cursor are gone, and no retry brings them back. Throw " +
            "FEED_CURSOR_EXPIRED with the oldestId of the body instead",
        );
      }),
    ]);
    expect(codeOf(error), "a cursor of 1 has missed message 2").toBe("FEED_CURSOR_EXPIRED");
    expect(error).toMatchObject({ name: "FeedError", status: 410, oldestId: 3 });
    expect(
      retries.map((r) => r.error.code),
      "no retry: asking again cannot bring them back",
    ).toEqual([]);
    const resumed = shortPoll({ url, intervalMs: 5, after: 2, signal: abort.signal });
    expect(
      (await step(resumed, "message 3")).value,
      "from oldestId - 1, nothing is missed",
    ).toMatchObject({
      id: 3,
    });
    abort.abort();
  });

  test("makes no request when the signal is already aborted", async () => {
    const server = await scripted((_n, res) => batch(res, M1));
    const abort = stopper();
    abort.abort();
    const messages = shortPoll({ url: server.url, intervalMs: 1, signal: abort.signal });
    expect(await step(messages, "the end at once")).toEqual({ done: true, value: undefined });
    expect(server.requests()).toBe(0);
  });

  test("throws FEED_BAD_RESPONSE on a 200 that is not a batch or a 410 without oldestId, without retrying", async () => {
    const answers = [
      { status: 200, body: '{"messages":"none","more":false}' },
      { status: 200, body: "<html>busy</html>" },
      { status: 410, body: '{"code":"FEED_CURSOR_EXPIRED"}' },
    ];
    for (const { status, body } of answers) {
      const server = await scripted((_n, res) => {
        res.statusCode = status;
        res.setHeader("Content-Type", "application/json");
        res.end(body);
      });
      const abort = stopper();
      const messages = shortPoll({
        url: server.url,
        intervalMs: 1,
        signal: abort.signal,
        backoff: FAST,
      });
      const error = await failure(messages, `a ${status} with ${body} is a broken server`);
      expect(
        codeOf(error),
        `a ${status} with ${body}: check what comes from the network (parse the JSON, then its ` +
          "shape) before using it",
      ).toBe("FEED_BAD_RESPONSE");
      expect(server.requests(), "no retry").toBe(1);
    }
  });

  test("yields a message at or before its cursor only once, even from a server that repeats it", async () => {
    // A server that sends message 1 again with message 2: the cursor says it was seen.
    const server = await scripted((n, res) => (n === 1 ? batch(res, M1) : batch(res, M1, M2)));
    const abort = stopper();
    const messages = shortPoll({ url: server.url, intervalMs: 1, signal: abort.signal });
    expect((await step(messages, "message 1")).value).toEqual(M1);
    expect(
      (await step(messages, "message 2")).value,
      "message 1 came again in the second batch: skip what is not newer than the cursor",
    ).toEqual(M2);
  });

  test("backs off from DEFAULT_BACKOFF when given none: the first retry waits up to 250 ms", async () => {
    const server = await scripted((_n, res) => fail(res, 503));
    const abort = stopper();
    const retried = deferred<Retry>();
    const messages = longPoll({
      url: server.url,
      waitMs: 1_000,
      signal: abort.signal,
      random: () => 0.5,
      onRetry: (retry) => retried.resolve(retry),
    });
    const next = messages.next();
    const early = next.then((result) => {
      throw new Error(`The iterator gave ${JSON.stringify(result)} instead of retrying the 503`);
    });
    const retry = await within(Promise.race([retried.promise, early]), "a retry of the 503");
    expect(retry.delayMs, "half of min(15000, 250 × 2^0)").toBe(125);
    abort.abort();
    expect(await within(next, "the end, once aborted in the pause")).toEqual({
      done: true,
      value: undefined,
    });
  });

  test("throws at once on a URL that is not one, without a request or a retry: that is a bug to report", async () => {
    const retries: Retry[] = [];
    const abort = stopper();
    const messages = longPoll({
      url: "not a url",
      waitMs: 1_000,
      signal: abort.signal,
      backoff: FAST,
      onRetry: (retry) => retries.push(retry),
    });
    const error = await failure(messages, "a bad URL can never work");
    expect(error, "new URL() throws a TypeError for it").toBeInstanceOf(TypeError);
    expect(retries, "no retry: a bad URL is not a network failure").toEqual([]);
  });
});
