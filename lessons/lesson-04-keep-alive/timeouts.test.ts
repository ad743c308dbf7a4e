import { once } from "node:events";
import type net from "node:net";
import { afterEach, describe, expect, test, vi } from "vitest";
import { json } from "#reference/lesson-03-http/response.ts";
import type { Handler } from "#lesson/lesson-04-keep-alive/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { crlf } from "../../shared/testing/chunks.ts";
import { deferred, nextConnection, serverHasRead } from "../../shared/testing/raw.ts";
import { type HttpClient, responsesIn, serve, summary } from "./helpers.ts";

const GET_123 = crlf("GET /profile/123 HTTP/1.1\nHost: x\n\n");
const GET_124 = crlf("GET /profile/124 HTTP/1.1\nHost: x\n\n");

/**
 * Fakes setTimeout and clearTimeout, the timers the server uses: the test moves the clock, so
 * no real time passes (a test never waits for a timeout), and a request never arrives late on a
 * loaded machine. Sockets work as usual.
 */
function fakeTimers(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
}

/**
 * Moves the faked clock on by `ms`: the timers due fire, and what they set off (promise
 * continuations, a turn of the event loop after each timer) runs before this resolves.
 */
async function after(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Whether the server has closed its side of a connection it accepted: end() (FIN) or destroy(). */
function closedByServer(peer: net.Socket): boolean {
  return peer.writableEnded || peer.destroyed;
}

/**
 * Opens a silent connection, moves the clock on by `ms`, and says whether the server has closed
 * it: the sign that the server's idle timers run (a connection that never sends a byte is idle
 * from the start), for a test that checks another connection's timer did not fire.
 */
async function silentConnectionClosedAfter(
  served: Awaited<ReturnType<typeof serve>>,
  ms: number,
): Promise<boolean> {
  const accepted = nextConnection(served.server);
  await served.open();
  const silent = await accepted;
  await after(ms);
  return closedByServer(silent);
}

/** Sends one GET and checks that its response keeps the connection open. */
async function servedAndKept(client: HttpClient): Promise<void> {
  await client.send(GET_123);
  const [response] = await client.responses(1);
  expect(
    response.headers["connection"],
    explain("a first request", GET_123, "a response that keeps the connection", summary(response)),
  ).toBe("keep-alive");
}

describe("Step 3: Timeouts and limits", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("closes a connection left idle for idleTimeoutMs, without a response of its own", async () => {
    fakeTimers();
    const served = await serve({ idleTimeoutMs: 300 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    await client.send(GET_123);
    const [response] = await client.responses(1);
    expect(response.headers["keep-alive"], summary(response)).toBe("timeout=0, max=99");
    await after(300);
    expect(
      closedByServer(peer),
      "the server's FIN 300 ms (idleTimeoutMs) after its response: once the last response is " +
        "written and no request has started, the connection is idle, and its idle timer runs",
    ).toBe(true);
    const bytes = await client.closed(
      "the server's FIN 300 ms (idleTimeoutMs) after its response, with no response of its own " +
        "(RFC 9112 §9.5: a graceful close). Once the last response is written and no request has " +
        "started, the connection is idle: that is when the idle timer starts, and when it fires " +
        "the server ends the connection.",
    );
    const responses = responsesIn(bytes);
    expect(
      responses.length,
      explain("an idle close", client.sent, "one response, then FIN and nothing else", bytes),
    ).toBe(1);
  });

  test("closes a connection that never sends a byte after idleTimeoutMs, with a FIN and no response", async () => {
    fakeTimers();
    const served = await serve({ idleTimeoutMs: 50 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    await after(50);
    expect(
      closedByServer(peer),
      "the server's FIN 50 ms (idleTimeoutMs) after the connection opened: a connection that " +
        "never sends a byte is idle from the start, so its idle timer starts when it is accepted",
    ).toBe(true);
    const bytes = await client.closed(
      "the server's FIN 50 ms (idleTimeoutMs) after the connection opened: a connection that " +
        "never sends a byte is idle from the start, so its idle timer starts when it is accepted.",
    );
    expect(
      bytes.length,
      explain("a silent connection", client.sent, "FIN only: nothing was asked, so no 408", bytes),
    ).toBe(0);
  });

  test("serves maxRequestsPerConnection requests, the last saying Connection: close, then closes", async () => {
    const client = await (await serve({ maxRequestsPerConnection: 3 })).open();
    await client.send(Buffer.concat([GET_123, GET_123, GET_123, GET_123]));
    const bytes = await client.closed(
      "three responses, then the server's FIN: the third response says Connection: close",
    );
    const responses = responsesIn(bytes);
    expect(
      responses.map((r) => [r.headers["connection"], r.headers["keep-alive"]]),
      explain(
        "four pipelined GETs, a limit of three",
        client.sent,
        "max=2, max=1, close; no 4th",
        bytes,
      ),
    ).toEqual([
      ["keep-alive", "timeout=5, max=2"],
      ["keep-alive", "timeout=5, max=1"],
      ["close", undefined],
    ]);
  });

  test("cuts off a client trickling its next head in with 408 and Connection: close, while another client is served", async () => {
    fakeTimers();
    const served = await serve({ headersTimeoutMs: 150, idleTimeoutMs: 10_000 });
    const accepted = nextConnection(served.server);
    const slow = await served.open();
    const peer = await accepted;
    await servedAndKept(slow);
    // A slowloris: a head that never ends, one byte every 10 ms. The bytes must not restart the
    // clock.
    const trickle = async (bytes: string): Promise<void> => {
      const read = serverHasRead(peer, bytes.length);
      await slow.send(bytes);
      await served.wait(read, "the server to read the slow client's next byte");
    };
    await trickle("GET /profile/124 HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    for (let elapsed = 0; elapsed < 70; elapsed += 10) {
      await after(10);
      await trickle("a");
    }

    const other = await served.open();
    await other.send(GET_123);
    const [answered] = await other.responses(
      1,
      "a response for another client while the slow one trickles: one connection's timers " +
        "must not hold up the others",
    );
    expect(answered.status).toBe(200);

    for (let elapsed = 70; elapsed < 150; elapsed += 10) {
      await after(10);
      if (closedByServer(peer)) break;
      await trickle("a");
    }
    expect(
      closedByServer(peer),
      "408 Request Timeout with Connection: close, then a FIN, 150 ms (headersTimeoutMs) after " +
        "the head's first byte, while a byte arrives every 10 ms: later bytes of the same head " +
        "must not restart its clock (slowloris)",
    ).toBe(true);
    const bytes = await slow.closed(
      "408 Request Timeout with Connection: close, then a FIN, 150 ms (headersTimeoutMs) after " +
        "the head's first byte, while a byte arrives every 10 ms. The clock for a head starts " +
        "at its first byte, and later bytes of the same head must not restart it (slowloris)",
    );
    const [, timeout] = responsesIn(bytes);
    expect(
      timeout?.status,
      explain(
        "an unfinished head",
        slow.sent,
        "after the first response: 408, Connection: close, FIN",
        bytes,
      ),
    ).toBe(408);
    expect(timeout?.headers["connection"]).toBe("close");
  });

  test.each([
    { when: "in a write of its own, on an idle connection", together: false },
    { when: "in the same write as the request before it", together: true },
  ])("keeps the idle timer off while a head arrives slowly, $when", async ({ together }) => {
    fakeTimers();
    const served = await serve({ idleTimeoutMs: 200, headersTimeoutMs: 10_000 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    // Half of the next head: after the response (the connection idle, its timer running), or
    // with the request before it (the response goes out while the head is still arriving).
    const half = Buffer.from("GET /profile/124 HTTP/1.1\r\n");
    if (!together) await servedAndKept(client);
    const first = together ? Buffer.concat([GET_123, half]) : half;
    const read = serverHasRead(peer, first.length);
    await client.send(first);
    await served.wait(read, "the server to read half a head");
    await client.responses(1, "the response to the first request");
    // The sign that the server's idle timers run: a silent connection opened after the head
    // began, closed by its own idle timer once idleTimeoutMs has passed.
    expect(
      await silentConnectionClosedAfter(served, 200),
      "a silent second connection closed by its idle timer (200 ms): a connection that never " +
        "sends a byte is idle from the start",
    ).toBe(true);
    expect(
      closedByServer(peer),
      "the connection whose head is still arriving, closed 200 ms (idleTimeoutMs) later: a " +
        "connection with a request under way is not idle (the headers timeout, not the idle " +
        "one, bounds a head)",
    ).toBe(false);
    await client.send("Host: x\r\n\r\n");
    const [, second] = await client.responses(
      2,
      "the response to a head that took longer than idleTimeoutMs to arrive: a connection with " +
        "a request under way is not idle (the headers timeout, not the idle one, bounds a head)",
    );
    expect(second?.status).toBe(200);
  });

  test("stops the headers timer once the head is complete, while the body still arrives", async () => {
    fakeTimers();
    const served = await serve({ headersTimeoutMs: 100, idleTimeoutMs: 10_000 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    const body = '{"name":"Ed"}';
    // The head in two chunks, so that its timer starts; then the first bytes of the body.
    for (const piece of [
      "POST /profile HTTP/1.1\r\n",
      `Host: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 4)}`,
    ]) {
      const read = serverHasRead(peer, piece.length);
      await client.send(piece);
      await served.wait(read, "the server to read the POST's head");
    }
    // The sign that the server's headers timers run: a second connection whose head never ends,
    // answered 408 by its own headers timer once headersTimeoutMs has passed.
    const otherAccepted = nextConnection(served.server);
    const other = await served.open();
    const otherPeer = await otherAccepted;
    const half = "GET / HTTP/1.1\r\n";
    const otherRead = serverHasRead(otherPeer, half.length);
    await other.send(half);
    await served.wait(otherRead, "the server to read the second connection's half head");
    await after(100);
    expect(
      closedByServer(otherPeer),
      "408 and a FIN for a head left unfinished for 100 ms (headersTimeoutMs)",
    ).toBe(true);
    expect(
      closedByServer(peer),
      "the POST's connection closed 100 ms (headersTimeoutMs) after its head began: its head " +
        "was complete in time, and a body is not bounded by the headers timeout",
    ).toBe(false);
    await client.send(body.slice(4));
    const [response] = await client.responses(
      1,
      "the response to the POST: its head was complete in time, and a body is not bounded by " +
        "the headers timeout",
    );
    expect(response.status, summary(response)).toBe(201);
  });

  test("starts a fresh headers timer for a head that begins in the chunk that completes the one before", async () => {
    // Fake setTimeout: the test moves the clock, so "almost headersTimeoutMs" is exact.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const served = await serve({ headersTimeoutMs: 1_000 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    const chunks = [
      "GET /profile/123 HTTP/1.1\r\n",
      "Host: x\r\n\r\nGET /profile/124 HTTP/1.1\r\n",
      "Host: x\r\n\r\n",
    ];
    const [first, second, third] = chunks as [string, string, string];
    let read = serverHasRead(peer, first.length);
    await client.send(first);
    await served.wait(read, "the server to read half of the first head");
    vi.advanceTimersByTime(900);
    read = serverHasRead(peer, second.length);
    await client.send(second);
    await served.wait(read, "the server to read the rest of the first head and half the second");
    // 1 100 ms after the first head began, 200 ms after the second did.
    vi.advanceTimersByTime(200);
    await client.send(third);
    const [, response] = await client.responses(2, "the responses to both requests");
    expect(
      response?.status,
      explain(
        "two heads, the second begun in the chunk that completed the first (chunks: " +
          chunks.map((chunk) => show(chunk)).join(", ") +
          "), 200 ms before the end of the second (headersTimeoutMs: 1000)",
        client.sent,
        "200 for both: a request completed in a chunk means the head still arriving is the " +
          "next one's, with a fresh clock",
        client.received,
      ),
    ).toBe(200);
  });

  test("sends the 408 after the responses still owed, in order", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const release = deferred();
    const handler: Handler = async () => {
      await release.promise;
      return json(200, { slow: true });
    };
    const served = await serve({ handler, headersTimeoutMs: 1_000 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const peer = await accepted;
    const sent = crlf("GET /slow HTTP/1.1\nHost: x\n\nGET /next HTTP/1.1\n");
    const read = serverHasRead(peer, sent.length);
    await client.send(sent);
    await served.wait(read, "the server to read a request and half the next head");
    // The head's time is up while the response before it is still being made.
    vi.advanceTimersByTime(1_100);
    release.resolve();
    const bytes = await client.closed(
      "the response to GET /slow, then 408 with Connection: close, then a FIN",
    );
    expect(
      responsesIn(bytes).map((response) => response.status),
      explain(
        "a request whose handler is slow, and half a head that times out meanwhile",
        sent,
        "200, then 408: the server's own answer takes its place in line, after every response " +
          "owed before it (RFC 9112 §9.3.2: responses go in the order of the requests)",
        bytes,
      ),
    ).toEqual([200, 408]);
  });

  test("clears its timers when the client closes the connection", async () => {
    // Only setTimeout and clearTimeout are faked: sockets work as usual, and the test can count
    // the timers the server has left.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const served = await serve();
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const serverSide = await accepted;
    await servedAndKept(client);
    // Half a head, in two chunks: now the headers timer runs too, one for the head.
    for (const piece of ["GET /profile/124 HTTP/1.1\r\n", "Host: x\r\n"]) {
      const read = serverHasRead(serverSide, piece.length);
      await client.send(piece);
      await served.wait(read, "the server to read half a head");
    }
    expect(
      vi.getTimerCount(),
      "timers pending while half a head has arrived: the headers timer at least (Step 3)",
    ).toBeGreaterThan(0);
    const closed = once(serverSide, "close");
    client.socket.destroy();
    await served.wait(closed, "the server side of the connection to close");
    expect(
      vi.getTimerCount(),
      "timers still pending after the client closed the connection: a timer left running " +
        "would fire on a closed connection, and keeps the process alive (a head's later bytes " +
        "must not start a timer of their own)",
    ).toBe(0);
    expect(served.server.stats(), "the server's count of open connections").toMatchObject({
      connectionsOpened: 1,
      connectionsOpen: 0,
    });
  });

  test("stops reading while the client does not read its responses, then answers every request in order", async () => {
    // More bytes than the socket buffers hold (on loopback the kernel takes about 4 MiB from a
    // client that reads nothing): some write() must return false, corked or not.
    const count = 16;
    const big = "x".repeat(1024 * 1024);
    const handled: string[] = [];
    let clientReading = true;
    const readingWhenHandled = new Map<string, boolean>();
    const handler: Handler = (request) => {
      handled.push(request.target);
      readingWhenHandled.set(request.target, clientReading);
      return json(200, { big, path: request.target });
    };
    // A cap above the requests sent: here only the unread responses may stop the reading.
    const served = await serve({ handler, maxPipelinedRequests: count + 2 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const serverSide = await accepted;
    await servedAndKept(client);

    // The client stops reading and pipelines 16 requests for 1 MiB each.
    client.socket.pause();
    clientReading = false;
    const pausedNow = once(serverSide, "pause");
    const paths = Array.from({ length: count }, (_, i) => `/${i + 1}`);
    await client.send(Buffer.concat(paths.map((p) => crlf(`GET ${p} HTTP/1.1\nHost: x\n\n`))));
    await served.wait(
      pausedNow,
      `the server to stop reading (socket.pause()) once a write() returns false: ${count} ` +
        "responses of 1 MiB are more than the socket buffers hold, and the client reads nothing. " +
        'Until "drain", write no more and read no more.',
    );
    // Paused for the right reason, and still: its writes wait for "drain", which cannot come
    // while the client does not read.
    expect(
      { paused: serverSide.isPaused(), waitingForDrain: serverSide.writableNeedDrain },
      "the server stays paused while a write waits for drain (the client reads nothing)",
    ).toEqual({ paused: true, waitingForDrain: true });
    // Paused, it reads no more: a request sent now waits until the client reads again.
    await client.send(crlf("GET /late HTTP/1.1\nHost: x\n\n"));
    clientReading = true;
    client.socket.resume();
    // The last response ends with its path: watch the tail, not every byte so far, each chunk.
    const last = Buffer.from(`"path":"/late"}`);
    let tail = Buffer.alloc(0);
    const arrived = new Promise<void>((resolve) => {
      client.socket.on("data", (chunk: Buffer) => {
        tail = Buffer.concat([tail, chunk]).subarray(-last.length);
        if (tail.equals(last)) resolve();
      });
    });
    await served.wait(arrived, `the ${count + 2} responses, in order, once the client reads again`);
    const bytes = client.received;
    expect(
      readingWhenHandled.get("/late"),
      "GET /late, sent while the server was paused, was read before the client read again: a " +
        'paused server reads nothing until "drain"',
    ).toBe(true);
    const responses = responsesIn(bytes).slice(1);
    expect(responses.map((r) => JSON.parse(r.body.toString("utf8")).path)).toEqual([
      ...paths,
      "/late",
    ]);
    expect(handled, "the requests handled, in order").toEqual(["/profile/123", ...paths, "/late"]);
  });

  test("stops reading at maxPipelinedRequests unanswered requests, and starts no more handlers", async () => {
    const release = deferred();
    const started: string[] = [];
    const handler: Handler = async (request) => {
      // GET /1 to /5 wait for the test; anything else is answered at once.
      if (!/^\/\d$/.test(request.target)) return json(200, {});
      started.push(request.target);
      await release.promise;
      return json(200, { path: request.target });
    };
    const served = await serve({ handler, maxPipelinedRequests: 2 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const serverSide = await accepted;
    await servedAndKept(client);

    const pausedNow = once(serverSide, "pause");
    const sent = Buffer.concat([1, 2, 3, 4, 5].map((i) => crlf(`GET /${i} HTTP/1.1\nHost: x\n\n`)));
    await client.send(sent);
    await served.wait(
      pausedNow,
      "the server to stop reading (socket.pause()) with 2 (maxPipelinedRequests) requests " +
        "unanswered: every request read and not yet answered counts against the cap.",
    );
    expect(
      serverSide.isPaused(),
      "the server stays paused while its handlers hold maxPipelinedRequests requests",
    ).toBe(true);
    expect(started, `handlers started, with 5 requests pipelined: ${show(sent, 60)}`).toEqual([
      "/1",
      "/2",
    ]);
    release.resolve();
    const responses = (await client.responses(6)).slice(1);
    expect(responses.map((r) => JSON.parse(r.body.toString("utf8")).path)).toEqual([
      "/1",
      "/2",
      "/3",
      "/4",
      "/5",
    ]);
  });

  test("stops reading as soon as maxPipelinedRequests requests are unanswered", async () => {
    const release = deferred();
    const handler: Handler = async () => {
      await release.promise;
      return json(200, {});
    };
    const served = await serve({ handler, maxPipelinedRequests: 2 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const serverSide = await accepted;
    const sent = Buffer.concat([GET_123, GET_124]);
    const read = serverHasRead(serverSide, sent.length);
    await client.send(sent);
    // The server's "data" listener has handled both requests by the time the test hears of them.
    await served.wait(read, "the server to read both requests");
    expect(
      serverSide.isPaused(),
      "the server to stop reading (socket.pause()) with exactly 2 (maxPipelinedRequests) " +
        "requests unanswered, once it has read them: at the cap, not one past it",
    ).toBe(true);
    release.resolve();
    await client.responses(2);
  });

  test("destroys a half-closed connection whose client never closes its side, after idleTimeoutMs", async () => {
    fakeTimers();
    const served = await serve({ idleTimeoutMs: 300 });
    const accepted = nextConnection(served.server);
    // allowHalfOpen: this client reads the server's FIN and never sends its own.
    const client = await served.open({ allowHalfOpen: true });
    const serverSide = await accepted;
    // Not once(): that would also reject on the server's own "error", with nobody awaiting yet.
    const destroyed = new Promise((resolve) => serverSide.once("close", resolve));
    await client.send(crlf("GET /profile/123 HTTP/1.1\nHost: x\nConnection: close\n\n"));
    const bytes = await client.closed();
    expect(
      responsesIn(bytes).map((response) => response.headers["connection"]),
      explain("a request with Connection: close", client.sent, "one response, then FIN", bytes),
    ).toEqual(["close"]);
    expect(client.socket.writableEnded, "the client has not closed its side").toBe(false);
    await after(300);
    expect(
      serverSide.destroyed,
      "the server to destroy the connection 300 ms (idleTimeoutMs) after its FIN: the client " +
        "never closes its side, and a half-closed connection must not linger forever. After " +
        "socket.end(), give the client the idle timeout to send its FIN, then destroy the socket.",
    ).toBe(true);
    await served.wait(
      destroyed,
      "the server to destroy the connection 300 ms (idleTimeoutMs) after its FIN: the client " +
        "never closes its side, and a half-closed connection must not linger forever. After " +
        "socket.end(), give the client the idle timeout to send its FIN, then destroy the socket.",
    );
  });

  test("keeps the idle timer off while a handler works longer than idleTimeoutMs, and the connection open", async () => {
    const started = deferred();
    const release = deferred();
    const handler: Handler = async (request) => {
      if (request.target !== "/slow") return json(200, { path: request.target });
      started.resolve();
      await release.promise;
      return json(200, { path: "/slow" });
    };
    fakeTimers();
    const served = await serve({ handler, idleTimeoutMs: 300 });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const serverSide = await accepted;
    await servedAndKept(client);

    const slow = crlf("GET /slow HTTP/1.1\nHost: x\n\n");
    await client.send(slow);
    await served.wait(started.promise, "the handler to start on GET /slow");
    // The event that says idleTimeoutMs has passed while /slow runs: a second connection of the
    // same server, opened after /slow started and silent, closed by its own idle timer. An idle
    // timer left running on the first connection was armed earlier, so it would have fired first.
    expect(
      await silentConnectionClosedAfter(served, 300),
      "a silent second connection closed by its idle timer (300 ms), the sign that the idle " +
        "period has passed: a connection that never sends a byte is idle from the start",
    ).toBe(true);
    // A next request, read by the server before /slow is answered: a connection the idle timer
    // has finished would drop it.
    const read = serverHasRead(serverSide, GET_124.length);
    await client.send(GET_124);
    await served.wait(read, "the server to read the next request while /slow runs");
    release.resolve();
    const responses = await client.responses(
      3,
      "the slow response, then the next request's. A handler at work is not idleness: the idle " +
        "timer must not run while a request is unanswered (read, running in a handler, or " +
        "waiting to be written); it starts again only once every response is written",
    );
    expect(
      responses
        .slice(1)
        .map((r) => [JSON.parse(r.body.toString("utf8")).path, r.headers["connection"]]),
      explain(
        "a handler slower than idleTimeoutMs, then a next request",
        client.sent,
        "both answered, in order, the connection kept",
        client.received,
      ),
    ).toEqual([
      ["/slow", "keep-alive"],
      ["/profile/124", "keep-alive"],
    ]);
  });
});
