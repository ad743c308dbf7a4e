import { once } from "node:events";
import { afterEach, describe, expect, test, vi } from "vitest";
import { json } from "#reference/lesson-03-http/response.ts";
import { createServer, type Handler } from "#lesson/lesson-04-keep-alive/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { crlf, deferred, nextConnection, RawClient, responsesIn, summary } from "./helpers.ts";

const GET_123 = crlf("GET /profile/123 HTTP/1.1\nHost: x\n\n");

/** Sends one GET and checks that its response keeps the connection open. */
async function servedAndKept(client: RawClient): Promise<void> {
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
    const client = await RawClient.open(await listen(createServer({ idleTimeoutMs: 50 })));
    await client.send(GET_123);
    const [response] = await client.responses(1);
    expect(response.headers["keep-alive"], summary(response)).toBe("timeout=0, max=99");
    const bytes = await client.closed();
    const responses = responsesIn(bytes);
    expect(
      responses.length,
      explain("an idle close", client.sent, "one response, then FIN and nothing else", bytes),
    ).toBe(1);
  });

  test("serves maxRequestsPerConnection requests, the last saying Connection: close, then closes", async () => {
    const client = await RawClient.open(
      await listen(createServer({ maxRequestsPerConnection: 3 })),
    );
    await client.send(Buffer.concat([GET_123, GET_123, GET_123, GET_123]));
    const bytes = await client.closed();
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
    const server = createServer({ headersTimeoutMs: 150, idleTimeoutMs: 10_000 });
    const address = await listen(server);
    const slow = await RawClient.open(address);
    await servedAndKept(slow);
    // A slowloris: a head that never ends, one byte at a time. The bytes must not restart the
    // clock. (This interval makes load, it synchronizes nothing.)
    await slow.send("GET /profile/124 HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const trickle = setInterval(() => void slow.send("a"), 10);
    try {
      const other = await RawClient.open(address);
      await other.send(GET_123);
      const [served] = await other.responses(1, "a response for another client meanwhile");
      expect(served.status).toBe(200);

      const bytes = await slow.closed();
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
    } finally {
      clearInterval(trickle);
    }
  });

  test("clears its timers when the client closes the connection", async () => {
    // Only setTimeout and clearTimeout are faked: sockets work as usual, and the test can count
    // the timers the server has left.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const server = createServer();
    const address = await listen(server);
    const accepted = nextConnection(server);
    const client = await RawClient.open(address);
    const serverSide = await accepted;
    await servedAndKept(client);
    // Half a head: now the headers timer runs too.
    const halfRead = once(serverSide, "data");
    await client.send("GET /profile/124 HTTP/1.1\r\n");
    await halfRead;
    const closed = once(serverSide, "close");
    client.socket.destroy();
    await closed;
    expect(vi.getTimerCount(), "timers still pending after the connection closed").toBe(0);
  });

  test("stops reading while the client does not read its responses, then answers every request in order", async () => {
    const big = "x".repeat(256 * 1024);
    const handler: Handler = (request) => json(200, { path: request.target, big });
    const server = createServer({ handler });
    const address = await listen(server);
    const accepted = nextConnection(server);
    const client = await RawClient.open(address);
    const serverSide = await accepted;
    await servedAndKept(client);

    // The client stops reading and pipelines eight requests for 256 KiB each.
    client.socket.pause();
    let paused = false;
    serverSide.once("pause", () => {
      paused = true;
    });
    const pausedNow = once(serverSide, "pause");
    let requests = Buffer.alloc(0);
    for (let i = 1; i <= 8; i++) {
      requests = Buffer.concat([requests, crlf(`GET /${i} HTTP/1.1\nHost: x\n\n`)]);
    }
    await client.send(requests);
    await pausedNow;
    expect(paused, "the server paused its reading (socket.pause())").toBe(true);

    client.socket.resume();
    const responses = (await client.responses(9)).slice(1);
    expect(responses.map((r) => JSON.parse(r.body.toString("utf8")).path)).toEqual([
      "/1",
      "/2",
      "/3",
      "/4",
      "/5",
      "/6",
      "/7",
      "/8",
    ]);
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
    const server = createServer({ handler, maxPipelinedRequests: 2 });
    const address = await listen(server);
    const accepted = nextConnection(server);
    const client = await RawClient.open(address);
    const serverSide = await accepted;
    await servedAndKept(client);

    const pausedNow = once(serverSide, "pause");
    const sent = Buffer.concat([1, 2, 3, 4, 5].map((i) => crlf(`GET /${i} HTTP/1.1\nHost: x\n\n`)));
    await client.send(sent);
    await pausedNow;
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
});
