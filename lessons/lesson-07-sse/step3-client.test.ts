import http from "node:http";
import { describe, expect, onTestFinished, test } from "vitest";
import { events, type Reconnect } from "#lesson/lesson-07-sse/client.ts";
import type { ServerSentEvent } from "#lesson/lesson-07-sse/parser.ts";
import { codeOf, rejectionOf } from "../../shared/testing/errors.ts";
import { listen } from "../../shared/testing/net.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { deferred } from "../../shared/testing/raw.ts";

/** An error a test caught: an unwritten stub's is rethrown, so the test fails with its message. */
function written(error: unknown): unknown {
  if ((error as { code?: unknown } | null)?.code === "COURSE_NOT_IMPLEMENTED") throw error;
  return error;
}

/** What the test's server saw of one request. */
interface Seen {
  accept: string | undefined;
  /** The Last-Event-ID header decoded as UTF-8, or undefined when there was none. */
  lastEventId: string | undefined;
  /** Resolves when the connection of this request's response closes. */
  closed: Promise<void>;
}

type Answer = (n: number, res: http.ServerResponse, req: http.IncomingMessage) => void;

/**
 * A node:http server on port 0 that answers request number n (1, 2, ...) with `answer`, and keeps
 * what it saw of each request. `request(n)` waits (bounded) for the nth.
 */
async function scripted(answer: Answer) {
  const seen: Seen[] = [];
  const arrivals: { promise: Promise<Seen>; resolve: (seen: Seen) => void }[] = [];
  const arrival = (n: number) => (arrivals[n] ??= deferred<Seen>());
  const server = http.createServer((req, res) => {
    const header = req.headers["last-event-id"];
    const closed = deferred();
    res.once("close", () => closed.resolve());
    const request: Seen = {
      accept: req.headers.accept,
      // Node reads header bytes as Latin-1: read them back as the bytes they were.
      lastEventId:
        typeof header === "string" ? Buffer.from(header, "latin1").toString("utf8") : undefined,
      closed: closed.promise,
    };
    seen.push(request);
    arrival(seen.length).resolve(request);
    answer(seen.length, res, req);
  });
  const { host, port } = await listen(server);
  return {
    url: `http://${host}:${port}/events`,
    seen,
    request: (n: number, expected: string | (() => string) = `request ${n} to the stream`) =>
      within(arrival(n).promise, () =>
        typeof expected === "string"
          ? `Nothing after ${PATIENCE_MS} ms. Expected ${expected} (${seen.length} came)`
          : expected(),
      ),
  };
}

/** Starts an event stream: 200, text/event-stream, and the head sent at once. */
function open(res: http.ServerResponse, contentType = "text/event-stream"): void {
  res.writeHead(200, { "Content-Type": contentType, "Cache-Control": "no-cache" });
  res.flushHeaders();
}

/** Writes the whole of a stream and ends the response. */
function stream(res: http.ServerResponse, body: string): void {
  open(res);
  res.end(body);
}

/** Cuts the connection once `body` has been handed to the kernel: the stream drops. */
function drop(res: http.ServerResponse, body: string): void {
  res.write(body, () => res.socket?.destroy());
}

function fail(res: http.ServerResponse, status: number, contentType = "text/plain"): void {
  res.writeHead(status, { "Content-Type": contentType });
  res.end(status === 204 ? undefined : `status ${status}`);
}

function message(data: string, lastEventId = ""): ServerSentEvent {
  return { type: "message", data, lastEventId };
}

/** The iterator's next event, bounded: `expected` says what should have come. */
async function next(
  iterator: AsyncGenerator<ServerSentEvent, void, undefined>,
  expected: string,
): Promise<ServerSentEvent | undefined> {
  const result = await within(iterator.next(), `${expected} from the iterator's next()`);
  return result.done ? undefined : result.value;
}

/** Expects the iterator to end (done), bounded. */
async function ends(
  iterator: AsyncGenerator<ServerSentEvent, void, undefined>,
  expected: string,
): Promise<void> {
  const result = await within(iterator.next(), `the iterator to end: ${expected}`);
  expect(result, `the iterator should be done: ${expected}`).toEqual({
    done: true,
    value: undefined,
  });
}

/** A signal the test aborts, aborted anyway when the test ends, so that no client outlives it. */
function stopper(): AbortController {
  const controller = new AbortController();
  onTestFinished(() => controller.abort());
  return controller;
}

const FAST = { retryMs: 1, backoff: { baseMs: 4, maxMs: 64 }, random: () => 0.5 };

describe("Step 3: Clients that reconnect", () => {
  describe("Your own client", () => {
    test("asks for text/event-stream, with no Last-Event-ID at first, and yields each event as it is written", async () => {
      let response: http.ServerResponse | undefined;
      const server = await scripted((_n, res) => {
        open(res);
        res.write("data: one\n\n");
        response = res;
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "the first event")).toEqual(message("one"));
      const first = server.seen[0];
      expect(first?.accept, "the Accept header of the request").toBe("text/event-stream");
      expect(first?.lastEventId, "no Last-Event-ID on a first request with no id").toBe(undefined);
      response?.write("event: add\nid: 7\ndata: two\n\n");
      expect(await next(iterator, "the second event, written later on the same response")).toEqual({
        type: "add",
        data: "two",
        lastEventId: "7",
      });
      expect(server.seen.length, "both events came on one response").toBe(1);
    });

    test("reconnects when the stream ends, sending the last id as Last-Event-ID", async () => {
      const server = await scripted((n, res) => {
        if (n === 1) stream(res, "id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
        else if (n === 2) stream(res, "data: c\n\nid: 3\n\n");
        else open(res);
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event a")).toEqual(message("a", "1"));
      expect(await next(iterator, "event b")).toEqual(message("b", "2"));
      expect(await next(iterator, "event c, from the second response")).toEqual(message("c", "2"));
      void iterator.next().catch(() => {}); // reads on, and reconnects
      const second = await server.request(2, "a second request once the first response ended");
      expect(
        second.lastEventId,
        "Last-Event-ID of the reconnection: the id of the last event the client got",
      ).toBe("2");
      const third = await server.request(3, "a third request once the second response ended");
      expect(
        third.lastEventId,
        'The second response ended with "id: 3" and a blank line: an event with no data is not ' +
          "yielded, but its id is the last event ID all the same (ask the parser for lastEventId)",
      ).toBe("3");
    });

    test("reconnects when the connection drops, after the last whole event", async () => {
      const reconnects: Reconnect[] = [];
      let first: http.ServerResponse | undefined;
      const server = await scripted((n, res) => {
        open(res);
        if (n === 1) {
          res.write("id: 1\ndata: a\n\n");
          first = res;
        } else res.write("data: b\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, {
        ...FAST,
        signal: abort.signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      });
      expect(await next(iterator, "event a")).toEqual(message("a", "1"));
      if (first) drop(first, "id: 2\ndata: cut off");
      expect(
        await next(iterator, "event b, from a new connection after the first one dropped"),
        "The event cut off by the drop never ended with its blank line: it is not yielded.",
      ).toEqual(message("b", "1"));
      expect((await server.request(2)).lastEventId, "Last-Event-ID after the drop").toBe("1");
      expect(codeOf(reconnects[0]?.error), "onReconnect is told why: the connection dropped").toBe(
        "SSE_NETWORK_ERROR",
      );
    });

    test("a new response is a new stream: a line cut off by the end of one does not run into the next", async () => {
      const server = await scripted((n, res) => {
        if (n === 1) stream(res, "data: a\n\ndata: cut");
        else if (n === 2) stream(res, "\uFEFFdata: b\n\n");
        else open(res);
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event a")).toEqual(message("a"));
      expect(
        await next(iterator, "event b from the second response"),
        'Reset the parser for each new response: else "data: cut" and the next response\'s ' +
          "first line make one line, and its BOM is not dropped.",
      ).toEqual(message("b"));
    });

    test("honours retry: the reconnection waits the time the server asked for, and sends the id", async () => {
      const reconnects: Reconnect[] = [];
      const server = await scripted((n, res) => {
        if (n === 1) stream(res, "retry: 50\nid: 7\ndata: x\n\n");
        else open(res);
      });
      const abort = stopper();
      // No retryMs: the default reconnection time is seconds; retry: 50 must replace it.
      const iterator = events(server.url, {
        signal: abort.signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      });
      expect(await next(iterator, "event x")).toEqual(message("x", "7"));
      void iterator.next().catch(() => {}); // reads on, and reconnects
      const second = await server.request(
        2,
        "a reconnection after 50 ms, as the stream's retry: 50 asked",
      );
      expect(second.lastEventId, "Last-Event-ID of the reconnection").toBe("7");
      expect(
        reconnects.map((r) => r.delayMs),
        "onReconnect's delayMs: the retry field's",
      ).toEqual([50]);
    });

    test("sends no Last-Event-ID when the last id is empty", async () => {
      const server = await scripted((n, res) => {
        if (n === 1) stream(res, "id: 1\ndata: a\n\nid\ndata: b\n\n");
        else open(res);
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event a")).toEqual(message("a", "1"));
      expect(await next(iterator, "event b")).toEqual(message("b"));
      void iterator.next().catch(() => {});
      expect(
        (await server.request(2)).lastEventId,
        'An empty id cleared the last event ID: send no Last-Event-ID at all, not "Last-Event-ID: "',
      ).toBe(undefined);
    });

    test("starts from the lastEventId option, and sends a non-ASCII id UTF-8 encoded (format-field-id)", async () => {
      const server = await scripted((n, res) => {
        if (n === 1) stream(res, "id: …\ndata: hello\n\n");
        else open(res);
      });
      const abort = stopper();
      const reconnects: Reconnect[] = [];
      const iterator = events(server.url, {
        ...FAST,
        lastEventId: "41",
        signal: abort.signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      });
      expect(await next(iterator, "event hello")).toEqual(message("hello", "…"));
      expect(server.seen[0]?.lastEventId, "the first request's Last-Event-ID").toBe("41");
      let rejected: unknown;
      void iterator.next().catch((error: unknown) => (rejected = error)); // reads on, reconnects
      const second = await server.request(2, () => {
        // What the client made of it: fetch's TypeError, thrown or taken for a network error.
        const failed = reconnects.filter((r) => r.error !== undefined);
        const refused = rejected ?? failed[0]?.error?.cause;
        return (
          `No second request came after ${PATIENCE_MS} ms. The id is … (U+2026), and fetch ` +
          "refuses a header value outside ISO-8859-1 (a ByteString: one character per byte, " +
          "U+0000 to U+00FF) with a TypeError, before it sends anything. Send the id as its " +
          'UTF-8 bytes, one Latin-1 character each: Buffer.from(id, "utf8").toString("latin1").' +
          (refused === undefined ? "" : `\n  the client got: ${String(refused)}`) +
          (failed.length === 0
            ? ""
            : `\n  onReconnect heard ${failed.length} failed attempt(s): that TypeError is no ` +
              "network error, and retrying it repeats it for ever")
        );
      });
      expect(second.lastEventId, "the reconnection's Last-Event-ID, read back as UTF-8").toBe("…");
    });

    test("a request that fetch refuses before sending it is thrown at once, not retried as a network error", async () => {
      const server = await scripted((_n, res) => stream(res, "data: a\n\n"));
      const reconnects: Reconnect[] = [];
      // fetch refuses a URL with credentials in it: new Request() throws a TypeError.
      const url = new URL(server.url);
      url.username = "ada";
      url.password = "secret";
      const iterator = events(url, {
        ...FAST,
        signal: stopper().signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      });
      const outcome = written(
        await within(
          iterator.next().then(
            (result) => result,
            (error: unknown) => error,
          ),
          () =>
            `The iterator's next() has not rejected after ${PATIENCE_MS} ms, and onReconnect ` +
            `heard ${reconnects.length} reconnection(s), the last for: ` +
            `${String(reconnects.at(-1)?.error?.cause ?? "(none)")}. fetch refuses this URL (it ` +
            "has credentials in it) with a TypeError before any request is sent: that is a bug " +
            "in the client or its caller, and asking again repeats it for ever. Make the " +
            "request first (new Request(url, { headers, signal }) does every check fetch does " +
            "before sending) and throw what it throws; only what fetch(request) rejects with is " +
            "a network error to retry.",
        ),
      );
      expect(
        outcome,
        "the TypeError that fetch's Request threw, as it is: a bug, not an SSE_NETWORK_ERROR",
      ).toBeInstanceOf(TypeError);
      expect(reconnects, "no reconnection for a bug").toEqual([]);
      expect(server.seen.length, "requests sent: none").toBe(0);
    });

    test("format-utf-8: decodes UTF-8 whatever charset the Content-Type names", async () => {
      const server = await scripted((_n, res) => {
        open(res, "text/event-stream;charset=windows-1252");
        res.write("data:ok…\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event ok…")).toEqual(message("ok…"));
    });

    test("format-mime-trailing-semicolon: text/event-stream; is an event stream", async () => {
      const server = await scripted((_n, res) => {
        open(res, "text/event-stream;");
        res.write("data: x\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event x")).toEqual(message("x"));
    });

    test("stops for good on 204 No Content: the iterator ends, and no request follows", async () => {
      const server = await scripted((_n, res) => fail(res, 204));
      const iterator = events(server.url, { ...FAST, signal: stopper().signal });
      await ends(iterator, "a 204 tells the client to stop reconnecting");
      expect(server.seen.length, "requests made: one, answered 204, and no reconnection").toBe(1);
    });

    test.each([500, 503, 404])(
      "fails on %i with SSE_UNEXPECTED_STATUS, and does not reconnect",
      async (status) => {
        const server = await scripted((_n, res) => fail(res, status));
        const iterator = events(server.url, { ...FAST, signal: stopper().signal });
        const error = written(
          await rejectionOf(() =>
            within(iterator.next(), `the iterator's next() to reject on a ${status}`),
          ),
        );
        expect(
          codeOf(error),
          `A status other than 200 fails the connection for good (§9.2.3): no reconnection`,
        ).toBe("SSE_UNEXPECTED_STATUS");
        expect((error as { status?: number }).status, "the error's status").toBe(status);
        expect(server.seen.length, "requests made").toBe(1);
      },
    );

    test.each([
      ["text/plain", "text/plain"],
      ["format-mime-bogus", "x bogus"],
      ["format-mime-valid-bogus", "text/x-bogus"],
      ["no Content-Type", undefined],
    ])("fails on a 200 with %s: SSE_UNEXPECTED_CONTENT_TYPE", async (_name, contentType) => {
      const server = await scripted((_n, res) => {
        if (contentType === undefined) res.removeHeader("Content-Type");
        else res.setHeader("Content-Type", contentType);
        res.end("data: not an event stream\n\n");
      });
      const iterator = events(server.url, { ...FAST, signal: stopper().signal });
      const error = written(
        await rejectionOf(() =>
          within(iterator.next(), "the iterator's next() to reject on the wrong Content-Type"),
        ),
      );
      expect(
        codeOf(error),
        `Content-Type ${JSON.stringify(contentType)}: only text/event-stream is an event stream`,
      ).toBe("SSE_UNEXPECTED_CONTENT_TYPE");
      expect(server.seen.length, "requests made: no reconnection").toBe(1);
      if (contentType !== undefined) {
        expect(
          (error as { contentType?: string }).contentType,
          "the error's contentType: the Content-Type the server sent (errors.ts)",
        ).toBe(contentType);
      }
    });

    test("a media type is matched without case, with space before its parameters (RFC 9110 §8.3.1)", async () => {
      const server = await scripted((_n, res) => {
        open(res, "Text/Event-Stream ; charset=utf-8");
        res.write("data: x\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(
        await next(
          iterator,
          "event x: a media type's type and subtype are case-insensitive, and optional " +
            "whitespace may come before the ; of its parameters",
        ),
      ).toEqual(message("x"));
    });

    test("a 200 that is not an event stream is not read on: its connection is closed", async () => {
      // The server keeps the response open: only the client can end it, by cancelling the body.
      const server = await scripted((_n, res) => {
        open(res, "application/json");
        res.write('{"not":"an event stream"}');
      });
      const iterator = events(server.url, { ...FAST, signal: stopper().signal });
      const error = written(
        await rejectionOf(() =>
          within(iterator.next(), "the iterator's next() to reject on the wrong Content-Type"),
        ),
      );
      expect(codeOf(error)).toBe("SSE_UNEXPECTED_CONTENT_TYPE");
      const [first] = server.seen;
      await within(
        first?.closed ?? Promise.resolve(),
        "the connection of the refused response to close: cancel the response's body " +
          "(response.body.cancel()) before failing, or fetch keeps the connection and its bytes",
      );
    });

    test("backs off after failed connection attempts: the reconnection time plus a jittered delay that grows", async () => {
      const reconnects: Reconnect[] = [];
      const server = await scripted((n, res, req) => {
        if (n <= 2 || n === 4)
          req.socket.destroy(); // no response at all
        else if (n === 3) stream(res, "data: up\n\n");
        else {
          open(res);
          res.write("data: back\n\n");
        }
      });
      const abort = stopper();
      const iterator = events(server.url, {
        ...FAST,
        signal: abort.signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      });
      expect(await next(iterator, "event up, after two failed attempts")).toEqual(message("up"));
      expect(
        await next(iterator, "event back, after the stream ended and one more failure"),
      ).toEqual(message("back"));
      expect(
        reconnects.map(({ attempt, delayMs, error }) => ({ attempt, delayMs, code: error?.code })),
        "onReconnect for each reconnection. After a failed attempt: the reconnection time (1 ms) " +
          "plus backoffDelay(attempt) (random 0.5, baseMs 4: 2, then 4). After a stream that " +
          "opened and ended: the reconnection time alone. A stream that opened resets the " +
          "attempts: the failure after it is attempt 0 again",
      ).toEqual([
        { attempt: 0, delayMs: 3, code: "SSE_NETWORK_ERROR" },
        { attempt: 1, delayMs: 5, code: "SSE_NETWORK_ERROR" },
        { attempt: 0, delayMs: 1, code: undefined },
        { attempt: 0, delayMs: 3, code: "SSE_NETWORK_ERROR" },
      ]);
    });

    test("an abort while the request waits for its response ends the iterator", async () => {
      const server = await scripted(() => {}); // never answers
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      const waiting = iterator.next();
      // If next() fails before any request (an unwritten stub), fail with its error at once.
      const request = await Promise.race([
        server.request(1),
        waiting.then(() => server.request(1, "a request before next() settled")),
      ]);
      abort.abort();
      expect(
        await within(waiting, "next() to resolve once the signal aborted"),
        "an abort ends the iterator: done, not an error",
      ).toEqual({ done: true, value: undefined });
      await within(request.closed, "the connection to close once the signal aborted");
    });

    test("an abort while it waits for the next event ends the iterator and closes the connection", async () => {
      const server = await scripted((_n, res) => {
        open(res);
        res.write("data: a\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event a")).toEqual(message("a"));
      const waiting = iterator.next(); // reading the body, which has nothing more yet
      abort.abort();
      expect(
        await within(waiting, "next() to resolve once the signal aborted"),
        "an abort while the body is read ends the iterator: done, not an error",
      ).toEqual({ done: true, value: undefined });
      await within(
        (await server.request(1)).closed,
        "the connection to close once the signal aborted",
      );
    });

    test("an abort during the pause before a reconnection ends the iterator", async () => {
      const paused = deferred();
      const server = await scripted((_n, res) => stream(res, "data: a\n\n"));
      const abort = stopper();
      const iterator = events(server.url, {
        retryMs: 60_000,
        signal: abort.signal,
        onReconnect: () => paused.resolve(),
      });
      expect(await next(iterator, "event a")).toEqual(message("a"));
      const waiting = iterator.next();
      await within(paused.promise, "onReconnect, once the stream ended");
      abort.abort();
      expect(
        await within(waiting, "next() to resolve once the signal aborted, in a 60 s pause"),
      ).toEqual({ done: true, value: undefined });
      expect(server.seen.length, "no reconnection after the abort").toBe(1);
    });

    test("an abort while the consumer holds an event ends the iterator at its next step", async () => {
      const server = await scripted((_n, res) => {
        open(res);
        res.write("data: a\n\ndata: b\n\n");
      });
      const abort = stopper();
      const iterator = events(server.url, { ...FAST, signal: abort.signal });
      expect(await next(iterator, "event a")).toEqual(message("a"));
      abort.abort();
      await ends(iterator, "the signal aborted while the consumer held event a: b is not yielded");
    });

    test("a consumer that breaks out of for await closes the connection", async () => {
      const server = await scripted((_n, res) => {
        open(res);
        res.write("data: a\n\n");
      });
      const abort = stopper();
      const got: string[] = [];
      await within(
        (async () => {
          for await (const event of events(server.url, { ...FAST, signal: abort.signal })) {
            got.push(event.data);
            break;
          }
        })(),
        "the for await loop to end at its break",
      );
      expect(got).toEqual(["a"]);
      await within(
        (await server.request(1)).closed,
        "the connection to close when the consumer stops (cancel the response body)",
      );
    });

    test("a retryMs that is not a whole number of ms is refused with SSE_OUT_OF_RANGE", async () => {
      const error = written(
        await rejectionOf(() =>
          within(events("http://127.0.0.1:1/events", { retryMs: -1 }).next(), "a RangeError"),
        ),
      );
      expect(codeOf(error)).toBe("SSE_OUT_OF_RANGE");
    });
  });
});
