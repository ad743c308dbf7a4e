import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MessageFeed, type Message, type MessageInput } from "#lesson/lesson-05-polling/feed.ts";
import { createServer, MAX_TIMER_MS } from "#lesson/lesson-05-polling/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";
import { connect, Inbox } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import {
  feedAddress,
  feedUrl,
  get,
  ids,
  post,
  rethrowIfNotWritten,
  rethrowStub,
  serverLog,
  summary,
} from "./helpers.ts";

/** `body` in the chunked transfer coding (RFC 9112 §7.1), `size` bytes per chunk (ASCII only). */
function chunked(body: string, size: number): string {
  let out = "";
  for (let i = 0; i < body.length; i += size) {
    const part = body.slice(i, i + size);
    out += `${part.length.toString(16)}\r\n${part}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

/** `inbox.until(done)`, bounded: if the server has not sent it in time, say what came instead. */
async function received(inbox: Inbox, done: (bytes: Buffer) => boolean, expected: string) {
  const bytes = await within(
    inbox.until((b) => done(b) || b.toString("latin1").startsWith("HTTP/1.1 500 "), expected),
    () => `Expected ${expected}, but the server sent only ${show(inbox.bytes())}`,
  );
  rethrowStub(bytes);
  return bytes;
}

/**
 * How many whole responses `bytes` hold, each a head and as many body bytes as its Content-Length
 * says (every answer of this server has one, or no body at all).
 */
function wholeResponses(bytes: Buffer): number {
  let count = 0;
  let start = 0;
  for (;;) {
    const end = bytes.indexOf("\r\n\r\n", start);
    if (end < 0) return count;
    const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(
      bytes.subarray(start, end + 2).toString("latin1"),
    );
    const next = end + 4 + Number(length?.[1] ?? 0);
    if (bytes.length < next) return count;
    count++;
    start = next;
  }
}

/** Whether `bytes` hold a whole response. */
function isWholeResponse(bytes: Buffer): boolean {
  return wholeResponses(bytes) >= 1;
}

describe("Step 2: The HTTP API, validated with zod", () => {
  test("POST /messages answers 201 with the stored message: its id, author, text and time", async () => {
    const url = await feedUrl(createServer());
    const sent = { author: "ada", text: "hello" };
    const created = await post(url, sent);
    expect(
      created.status,
      explain("POST /messages", JSON.stringify(sent), "201", created.text),
    ).toBe(201);
    expect(created.headers.get("content-type")).toMatch(/^application\/json/);
    expect(created.json).toEqual({ id: 1, author: "ada", text: "hello", at: expect.any(String) });
    const { at } = created.json as { at: string };
    expect(new Date(at).toISOString(), "at is an ISO 8601 time in UTC").toBe(at);
  });

  test("gives increasing ids to messages posted one after another", async () => {
    const url = await feedUrl(createServer());
    const created = [];
    for (const text of ["one", "two", "three"])
      created.push(await post(url, { author: "ada", text }));
    expect(created.map((r) => (r.json as { id: number }).id)).toEqual([1, 2, 3]);
  });

  test("GET /messages?after=0 answers 200 with every message, oldest first, and no-store", async () => {
    const url = await feedUrl(createServer());
    await post(url, { author: "ada", text: "one" });
    await post(url, { author: "grace", text: "two" });
    const poll = await get(url, "after=0");
    expect(poll.status, summary(poll)).toBe(200);
    expect(poll.json).toMatchObject({
      messages: [
        { id: 1, author: "ada", text: "one" },
        { id: 2, author: "grace", text: "two" },
      ],
      more: false,
    });
    expect(poll.headers.get("cache-control"), "no cache may keep a poll's answer").toBe("no-store");
    expect(
      poll.headers.get("etag"),
      'no ETag: the same URL has another answer a moment later (express adds one unless "etag" is off)',
    ).toBeNull();
    expect(
      poll.headers.get("x-powered-by"),
      'no X-Powered-By: it tells everyone what to attack (express adds it unless "x-powered-by" is off)',
    ).toBeNull();
  });

  test("HEAD /messages?after=0 answers as the GET does, without the body (RFC 9110 §9.3.2)", async () => {
    const url = await feedUrl(createServer());
    await post(url, { author: "ada", text: "one" });
    const head = await get(url, "after=0", { method: "HEAD" });
    expect(head.status, summary(head)).toBe(200);
    expect(head.text, "a HEAD response has no body").toBe("");
    expect(head.headers.get("content-type"), "the Content-Type the GET would have").toMatch(
      /^application\/json/,
    );
    expect(head.headers.get("cache-control"), "no cache may keep it either").toBe("no-store");
    const refused = await get(url, "after=9", { method: "HEAD" });
    expect(refused.status, "a cursor ahead of the newest is refused on HEAD too").toBe(410);
  });

  test("a short poll with nothing new answers 200 with an empty list, at once", async () => {
    const url = await feedUrl(createServer());
    await post(url, { author: "ada", text: "one" });
    const poll = await get(url, "after=1");
    expect(poll.status, summary(poll)).toBe(200);
    expect(poll.json).toEqual({ messages: [], more: false });
    expect((await get(url)).json, "no after: from the start").toMatchObject({
      messages: [{ id: 1 }],
    });
  });

  test("answers in batches of at most batchLimit, with more: true until the client has caught up", async () => {
    const url = await feedUrl(createServer({ batchLimit: 3 }));
    for (let i = 1; i <= 6; i++) await post(url, { author: "ada", text: `m${i}` });
    const pages = [];
    let after = 0;
    // At most 5 pages: a server that never says more: false must not keep the test polling.
    for (let page = 0; page < 5; page++) {
      const poll = await get(url, `after=${after}`);
      const { more } = poll.json as { more: boolean };
      pages.push({ ids: ids(poll), more });
      if (!more) break;
      after = ids(poll).at(-1)!;
    }
    expect(pages, "more: whether the feed has a message newer than the last one sent").toEqual([
      { ids: [1, 2, 3], more: true },
      { ids: [4, 5, 6], more: false },
    ]);
  });

  const refusals: {
    what: string;
    body: string;
    contentType?: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    field?: string;
  }[] = [
    {
      what: "a body that is not JSON",
      body: '{"author":"ada",',
      status: 400,
      code: "FEED_BAD_JSON",
    },
    { what: "a JSON array", body: "[1, 2]", status: 400, code: "FEED_BAD_MESSAGE" },
    { what: "a JSON string", body: '"hi"', status: 400, code: "FEED_BAD_MESSAGE" },
    {
      what: "no author",
      body: '{"text":"hi"}',
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "author",
    },
    {
      what: "an author of spaces",
      body: '{"author":"   ","text":"hi"}',
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "author",
    },
    {
      what: "an author of 41 characters",
      body: JSON.stringify({ author: "a".repeat(41), text: "hi" }),
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "author",
    },
    {
      what: "an empty text",
      body: '{"author":"ada","text":""}',
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "text",
    },
    {
      what: "a number for text",
      body: '{"author":"ada","text":42}',
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "text",
    },
    {
      what: "a text of 501 characters",
      body: JSON.stringify({ author: "ada", text: "x".repeat(501) }),
      status: 400,
      code: "FEED_BAD_MESSAGE",
      field: "text",
    },
    {
      what: "a body over 4 KiB",
      body: JSON.stringify({ author: "ada", text: "x".repeat(5000) }),
      status: 413,
      code: "FEED_BODY_TOO_LARGE",
    },
    {
      what: "JSON in a charset other than UTF-8",
      body: '{"author":"ada","text":"hi"}',
      contentType: "application/json; charset=latin1",
      status: 415,
      code: "FEED_UNSUPPORTED_MEDIA_TYPE",
    },
    {
      what: "JSON in a Content-Encoding the server cannot decode",
      body: '{"author":"ada","text":"hi"}',
      headers: { "Content-Encoding": "compress" },
      status: 415,
      code: "FEED_UNSUPPORTED_MEDIA_TYPE",
    },
    {
      what: "a form instead of JSON",
      body: "author=ada&text=hi",
      contentType: "application/x-www-form-urlencoded",
      status: 415,
      code: "FEED_UNSUPPORTED_MEDIA_TYPE",
    },
  ];

  test.each(refusals)(
    "refuses $what with $status and the code $code",
    async ({ body, contentType, headers, status, code, field }) => {
      const url = await feedUrl(createServer());
      const refused = await post(url, body, contentType, headers);
      const expected = `${status} {"code":"${code}",...${field ? `,"field":"${field}"` : ""}}`;
      const why = explain("POST /messages", body, expected, refused.text);
      expect(refused.status, why).toBe(status);
      expect(refused.json, why).toMatchObject({ code, error: expect.any(String) });
      if (field === undefined) {
        expect(refused.json, `${why}\nno one field is at fault: no "field"`).not.toHaveProperty(
          "field",
        );
      } else {
        expect(refused.json, why).toMatchObject({ field });
        expect((refused.json as { error: string }).error, "the reason names the field").toContain(
          field,
        );
      }
    },
  );

  test("accepts an author of 40 and a text of 500 characters, the longest allowed", async () => {
    const url = await feedUrl(createServer());
    const sent = { author: "a".repeat(40), text: "x".repeat(500) };
    const created = await post(url, sent);
    expect(created.status, summary(created)).toBe(201);
    expect(created.json).toMatchObject(sent);
  });

  test("stores the author trimmed, and drops fields it does not know: the server decides the id and the time", async () => {
    const url = await feedUrl(createServer());
    const sent = { author: "  ada  ", text: " hi ", id: 99, at: "yesterday", admin: true };
    const created = await post(url, sent);
    expect(created.status, summary(created)).toBe(201);
    expect(
      created.json,
      "author trimmed; text as sent; no id, at or admin from the client",
    ).toEqual({ id: 1, author: "ada", text: " hi ", at: expect.any(String) });
    expect((created.json as Message).at).not.toBe("yesterday");
    const stored = await get(url, "after=0");
    expect((stored.json as { messages: unknown[] }).messages, "the same as stored").toEqual([
      created.json,
    ]);
  });

  test.each(["application/json; charset=utf-8", "Application/JSON"])(
    "accepts a JSON body sent as %s: media types are case-insensitive and may carry parameters",
    async (contentType) => {
      const url = await feedUrl(createServer());
      const created = await post(url, { author: "ada", text: "hi" }, contentType);
      const why = explain(
        `a POST with Content-Type: ${contentType} (RFC 9110 §8.3.1: type and subtype are ` +
          "case-insensitive, and parameters such as charset may follow)",
        JSON.stringify({ author: "ada", text: "hi" }),
        "201, not 415",
        summary(created),
      );
      expect(created.status, why).toBe(201);
    },
  );

  test("caps the body at the maxBodyBytes it is given", async () => {
    const url = await feedUrl(createServer({ maxBodyBytes: 64 }));
    const body = JSON.stringify({ author: "ada", text: "x".repeat(80) });
    const refused = await post(url, body);
    const why = explain(
      "a valid message of 100 bytes, to a server created with maxBodyBytes: 64",
      body,
      '413 {"code":"FEED_BODY_TOO_LARGE",...}: the cap is the option, not a number of your own',
      summary(refused),
    );
    expect(refused.status, why).toBe(413);
    expect(refused.json, why).toMatchObject({ code: "FEED_BODY_TOO_LARGE" });
  });

  test("answers 404 FEED_NOT_FOUND, as JSON, to any other path", async () => {
    const url = await feedUrl(createServer());
    const refused = await get(url.replace(/\/messages$/, "/nowhere"));
    expect(refused.status, summary(refused)).toBe(404);
    expect(refused.json, summary(refused)).toMatchObject({
      code: "FEED_NOT_FOUND",
      error: expect.any(String),
    });
  });

  test("answers 500 FEED_INTERNAL to a bug in a handler, logs it, and goes on serving", async () => {
    class BrokenFeed extends MessageFeed {
      override append(_input: MessageInput): Message {
        throw new Error("the disk is full");
      }
    }
    const url = await feedUrl(createServer({ feed: new BrokenFeed() }));
    serverLog(); // from here on the server's log is kept, not printed
    const failed = await post(url, { author: "ada", text: "hi" });
    expect(failed.status, summary(failed)).toBe(500);
    expect(failed.json, "the cause stays in the server's log, not in the answer").toEqual({
      code: "FEED_INTERNAL",
      error: expect.any(String),
    });
    expect(failed.text).not.toContain("the disk is full");
    expect(
      serverLog().some((entry) => entry instanceof Error && entry.message === "the disk is full"),
      "the bug is logged with console.error, with the error itself",
    ).toBe(true);
    const next = await get(url, "after=0");
    expect(next.status, `the next request is served: ${summary(next)}`).toBe(200);
  });

  test.each([
    { value: 2 ** 31, option: "maxWaitMs" },
    { value: -1, option: "maxWaitMs" },
    { value: 0, option: "batchLimit" },
    { value: 1.5, option: "maxWaiters" },
    { value: -1, option: "maxBodyBytes" },
  ])(
    "refuses $option: $value when the server is created, with FEED_OUT_OF_RANGE",
    ({ value, option }) => {
      const error = thrownBy(() => createServer({ [option]: value }));
      rethrowIfNotWritten(error);
      expect(
        codeOf(error),
        option === "maxWaitMs"
          ? `setTimeout() keeps at most ${MAX_TIMER_MS} ms (2^31 - 1) and fires a longer delay at ` +
              "once: a maxWaitMs over it would end every long poll at once"
          : `${option} must be a whole number in its range`,
      ).toBe("FEED_OUT_OF_RANGE");
      expect(error).toBeInstanceOf(RangeError);
      const edge = option === "maxWaitMs" && value > 0 ? MAX_TIMER_MS : Math.floor(value) + 1;
      expect(
        () => createServer({ [option]: edge }),
        `${option}: ${edge} is in range`,
      ).not.toThrow();
    },
  );

  test("refuses a POST with no body at all with 400 FEED_BAD_MESSAGE: a missing message, not a wrong media type", async () => {
    const { host, port } = await feedAddress(createServer());
    // No Content-Type, and neither Content-Length nor Transfer-Encoding: RFC 9112 §6.3, a request
    // "with neither" has a body of length zero. Then the POST fetch() sends without a body, with
    // Content-Length: 0. Neither has a media type to refuse: there is no message.
    const requests = [
      `POST /messages HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `POST /messages HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`,
    ];
    for (const sent of requests) {
      const socket = await connect({ host, port });
      const inbox = new Inbox(socket);
      socket.write(sent);
      const bytes = await received(inbox, isWholeResponse, "a whole response");
      const text = bytes.toString("latin1");
      const why = explain(
        "a POST with no body",
        sent,
        'HTTP/1.1 400 ... {"code":"FEED_BAD_MESSAGE",...}, not 415: there is no body to have a type',
        bytes,
      );
      expect(text.startsWith("HTTP/1.1 400 Bad Request\r\n"), why).toBe(true);
      expect(text, why).toContain('"code":"FEED_BAD_MESSAGE"');
    }
  });

  test("refuses a chunked body over 4 KiB with 413, and answers the next request on the same connection", async () => {
    const { host, port } = await feedAddress(createServer());
    const socket = await connect({ host, port });
    const inbox = new Inbox(socket);
    // No Content-Length: the size shows only as the chunks arrive, so the cap is applied on the way.
    const body = JSON.stringify({ author: "ada", text: "x".repeat(5000) });
    const sent =
      `POST /messages HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n${chunked(body, 1000)}` +
      `GET /messages?after=0 HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    socket.write(sent);
    const bytes = await received(
      inbox,
      (b) => wholeResponses(b) >= 2,
      "a 413 for the POST, then a 200 for the GET",
    );
    const text = bytes.toString("latin1");
    const why = explain(
      "a chunked POST over the cap, then a GET on the same connection",
      sent,
      'HTTP/1.1 413 ... {"code":"FEED_BODY_TOO_LARGE",...} then HTTP/1.1 200 ...',
      bytes,
    );
    expect(text.startsWith("HTTP/1.1 413 Payload Too Large\r\n"), why).toBe(true);
    expect(text, why).toContain('"code":"FEED_BODY_TOO_LARGE"');
    expect(text, why).toMatch(/\r\n\r\n\{[^]*\}HTTP\/1\.1 200 OK\r\n/);
  });

  test("refuses a cursor older than what the feed keeps with 410 Gone, naming the oldest id kept", async () => {
    const feed = new MessageFeed({ maxMessages: 3 });
    const url = await feedUrl(createServer({ feed }));
    for (let i = 1; i <= 5; i++) await post(url, { author: "ada", text: `m${i}` });
    // Ids 1 and 2 were dropped: after=0 would miss both, after=1 would miss 2.
    for (const query of ["after=0", "after=1", "after=1&wait=60000"]) {
      const refused = await get(url, query);
      const why = explain(
        "a cursor behind the messages kept (ids 3 to 5)",
        `GET /messages?${query} HTTP/1.1`,
        '410 {"code":"FEED_CURSOR_EXPIRED","error":...,"oldestId":3}, not what is kept as if nothing was lost',
        refused.text,
      );
      expect(refused.status, why).toBe(410);
      expect(refused.json, why).toEqual({
        code: "FEED_CURSOR_EXPIRED",
        error: expect.any(String),
        oldestId: 3,
      });
      expect(
        refused.headers.get("cache-control"),
        "RFC 9110 §15.5.11: a 410 is heuristically cacheable; this one is for one moment",
      ).toBe("no-store");
    }
    const caughtUp = await get(url, "after=2");
    expect(ids(caughtUp), `after=2 misses nothing: ${summary(caughtUp)}`).toEqual([3, 4, 5]);
  });

  test("refuses a cursor ahead of the newest message with 410: it comes from another run of the server", async () => {
    const url = await feedUrl(createServer());
    await post(url, { author: "ada", text: "one" });
    // A client that saw id 5 before the server restarted: waiting for id 6 would skip 2 to 5.
    for (const query of ["after=5", "after=5&wait=60000"]) {
      const refused = await get(url, query);
      const why = explain(
        "a cursor this feed never handed out (its newest id is 1)",
        `GET /messages?${query} HTTP/1.1`,
        '410 {"code":"FEED_CURSOR_EXPIRED","error":...,"oldestId":1}, not a wait that would skip ' +
          "every message up to that id",
        refused.text,
      );
      expect(refused.status, why).toBe(410);
      expect(refused.json, why).toEqual({
        code: "FEED_CURSOR_EXPIRED",
        error: expect.any(String),
        oldestId: 1,
      });
    }
    expect(ids(await get(url, "after=1")), "the newest id itself is a good cursor").toEqual([]);
  });

  test('reads "05" as the cursor 5: digits only, leading zeros allowed', async () => {
    const url = await feedUrl(createServer());
    for (let i = 1; i <= 6; i++) await post(url, { author: "ada", text: `m${i}` });
    const poll = await get(url, "after=05");
    expect(ids(poll), summary(poll)).toEqual([6]);
  });

  test("a refused message is not stored: the next one gets the next id", async () => {
    const url = await feedUrl(createServer());
    await post(url, { author: "ada", text: "one" });
    await post(url, { author: "", text: "refused" });
    const next = await post(url, { author: "ada", text: "two" });
    expect(next.json).toMatchObject({ id: 2, text: "two" });
    expect(ids(await get(url, "after=0"))).toEqual([1, 2]);
  });

  test.each(["DELETE", "PUT"])(
    "answers 405 with Allow to %s, a method /messages does not support",
    async (method) => {
      const url = await feedUrl(createServer());
      const refused = await get(url, "", { method });
      expect(refused.status, summary(refused)).toBe(405);
      expect(refused.headers.get("allow"), "RFC 9110 §15.5.6: a 405 lists what is allowed").toBe(
        "GET, HEAD, POST",
      );
      expect(refused.json).toMatchObject({ code: "FEED_METHOD_NOT_ALLOWED" });
    },
  );

  const badQueries = [
    { query: "after=-1", field: "after" },
    { query: "after=abc", field: "after" },
    { query: "after=1.5", field: "after" },
    { query: "after=", field: "after" },
    // Digits only: each of these is a number to Number() or z.coerce.number(), and not a cursor.
    { query: "after=1e3", field: "after" },
    { query: "after=%205", field: "after" }, // " 5"
    { query: "after=%2B5", field: "after" }, // "+5"
    { query: "after=0x10", field: "after" },
    { query: "after=1&after=2", field: "after" },
    { query: "after=0&wait=soon", field: "wait" },
    { query: "after=0&wait=-5", field: "wait" },
    { query: "after=0&wait=1e3", field: "wait" },
  ];

  test.each(badQueries)("refuses GET /messages?$query with 400 naming $field", async (bad) => {
    const url = await feedUrl(createServer());
    const refused = await get(url, bad.query);
    const why = explain(
      `a poll whose query the schema refuses (${bad.field} must be digits only, given once)`,
      `GET /messages?${bad.query} HTTP/1.1`,
      `400 {"code":"FEED_BAD_QUERY","error":"${bad.field} ...","field":"${bad.field}"}`,
      summary(refused),
    );
    expect(refused.status, why).toBe(400);
    expect(refused.json, why).toMatchObject({ code: "FEED_BAD_QUERY", field: bad.field });
  });

  test("short polls lose and repeat nothing, however posts and polls interleave", async () => {
    const feed = new MessageFeed();
    const url = await feedUrl(createServer({ feed, batchLimit: 3 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("post", "poll"), { maxLength: 12 }),
        async (steps) => {
          const start = feed.lastId;
          const delivered: number[] = [];
          let cursor = start;
          const poll = async (): Promise<number> => {
            const batch = ids(await get(url, `after=${cursor}`));
            delivered.push(...batch);
            cursor = batch.at(-1) ?? cursor;
            return batch.length;
          };
          for (const step of steps) {
            if (step === "post") await post(url, { author: "ada", text: `after ${cursor}` });
            else await poll();
          }
          // Catch up, in a bounded number of polls (12 posts at most, 3 per batch).
          for (let round = 0; round < 10 && (await poll()) > 0; round++);
          const posted = Array.from({ length: feed.lastId - start }, (_, i) => start + i + 1);
          expect(delivered).toEqual(posted);
        },
      ),
      { numRuns: 12 },
    );
  });

  test("a poller running beside a poster gets every message once, in order", async () => {
    const url = await feedUrl(createServer({ batchLimit: 4 }));
    const posted: number[] = [];
    let posting = true;
    const poster = async () => {
      try {
        for (let i = 0; i < 30; i++) {
          posted.push(
            ((await post(url, { author: "ada", text: `m${i}` })).json as { id: number }).id,
          );
        }
      } finally {
        posting = false;
      }
    };
    const delivered: number[] = [];
    const poller = async () => {
      let cursor = 0;
      // Poll without pause until the poster is done and a poll after that brings nothing new.
      for (;;) {
        const done = !posting;
        const batch = ids(await get(url, `after=${cursor}`));
        delivered.push(...batch);
        cursor = batch.at(-1) ?? cursor;
        if (done && batch.length === 0) break;
        if (delivered.length > 30) break; // more than was posted: a repeat, shown below
      }
    };
    // Together, so that a failure of either fails the test, and neither is left running.
    await Promise.all([poster(), poller()]);
    expect(delivered).toEqual(posted);
  });
});
