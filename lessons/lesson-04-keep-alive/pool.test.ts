import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { assert, describe, expect, onTestFinished, test } from "vitest";
import type { ClientResponse } from "#reference/lesson-03-http/client.ts";
import { HttpError, RequestParser } from "#reference/lesson-03-http/parser.ts";
import { createServer as createClosingServer } from "#reference/lesson-03-http/server.ts";
import {
  createPool,
  type Pool,
  type PoolOptions,
  type PoolRequest,
} from "#lesson/lesson-04-keep-alive/pool.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf } from "../../shared/testing/errors.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deferred } from "../../shared/testing/raw.ts";
import { serve, summary, ThrownLater, thrownLater } from "./helpers.ts";

/**
 * A pool that is closed when the test ends, whose requests fail with a message instead of
 * hanging when no response ever comes. An unwritten close() is not reported a second time: the
 * test has already failed on the first stub it called.
 */
function pool(address: Address, options: Partial<PoolOptions> = {}): Pool {
  const created = createPool({ ...address, ...options });
  onTestFinished(() => {
    try {
      created.close();
    } catch (error) {
      if ((error as { code?: unknown }).code !== "COURSE_NOT_IMPLEMENTED") throw error;
    }
  });
  return {
    request: (request?: PoolRequest) => {
      // A throw in the pool's own socket listeners or timers fails the request at once.
      const settled = Promise.race([created.request(request), thrownLater()]);
      let done = false;
      settled.then(
        () => (done = true),
        () => (done = true),
      );
      const message = (): string =>
        `Nothing after a while: the pool's request ${show(JSON.stringify(request ?? {}))} ` +
        `neither resolved nor rejected. Every request settles: with its response, or with an ` +
        `error when its connection closes under it. Pool stats then: ` +
        JSON.stringify(created.stats);
      return within(settled, message).catch((error: unknown) => {
        // The wait ran out: that is the failure, not a rejection of the request.
        throw done ? error : new NeverSettled(message());
      });
    },
    close: () => created.close(),
    get stats() {
      return created.stats;
    },
  };
}

/** A request that neither resolved nor rejected in time. */
class NeverSettled extends Error {}

/** The error a request rejects with; if it resolves instead, a failure that says why it should not. */
async function rejection(request: Promise<ClientResponse>, expectation: string): Promise<unknown> {
  const outcome = await request.then(
    (response) => ({ response }),
    (error: unknown) => ({ error }),
  );
  // Thrown where nobody could catch it: that is the failure, not the request's rejection.
  if ("error" in outcome) {
    if (outcome.error instanceof ThrownLater || outcome.error instanceof NeverSettled) {
      throw outcome.error;
    }
    return outcome.error;
  }
  throw new Error(`${expectation}\n  instead it resolved with: ${summary(outcome.response)}`);
}

/** A node:http server that counts its connections; `handle` answers each request. */
async function httpServer(
  handle: http.RequestListener = (_req, res) => res.end("ok"),
): Promise<{ server: http.Server; address: Address; connections: () => number }> {
  const server = http.createServer(handle);
  let connections = 0;
  server.on("connection", () => (connections += 1));
  const address = await listen(server);
  return { server, address, connections: () => connections };
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/**
 * A raw server: `reply(connection, request)` (both counted from 1) gives the bytes to write for
 * each request, in one write, or null to destroy the connection without a byte, or
 * `{ thenClose }` to write those bytes and close, or `{ thenReset }` to write them and reset. It never closes
 * a connection otherwise. `seen` lists each request and the connection it came on.
 */
async function rawServer(
  reply: (
    connection: number,
    request: number,
  ) => string | null | { thenClose: string } | { thenReset: string },
) {
  const seen: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    const parser = new RequestParser();
    let requests = 0;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      for (const request of parser.feed(chunk)) {
        requests += 1;
        seen.push(`${request.method} ${request.target} on connection ${connection}`);
        const bytes = reply(connection, requests);
        if (bytes === null) {
          socket.destroy();
          return;
        }
        if (typeof bytes === "object" && "thenClose" in bytes) {
          socket.end(bytes.thenClose);
          return;
        }
        if (typeof bytes === "object") {
          socket.write(bytes.thenReset, () => socket.resetAndDestroy());
          return;
        }
        socket.write(bytes);
      }
    });
  });
  const address = await listen(server);
  return { address, seen };
}

/**
 * A raw server that answers a request on a connection only while `answer(connection, request)`
 * says so, and otherwise destroys the connection without a byte: the idle-close race, on demand.
 */
function racingServer(answer: (connection: number, request: number) => boolean) {
  return rawServer((connection, request) => (answer(connection, request) ? OK : null));
}

describe("Step 4: A client-side connection pool", () => {
  test("sends sequential requests on one reused connection", async () => {
    const { address, connections } = await httpServer((req, res) => res.end(req.url));
    const client = pool(address);
    for (const path of ["/a", "/b", "/c", "/d", "/e"]) {
      const response = await client.request({ path });
      expect(response.body.toString("utf8")).toBe(path);
    }
    expect(connections(), "connections opened for five sequential requests").toBe(1);
    expect(client.stats).toMatchObject({ opened: 1, open: 1, idle: 1, busy: 0, queued: 0 });
  });

  test("opens at most maxSockets connections and gives a freed one to the oldest waiting request", async () => {
    const arrived: string[] = [];
    const arrival = { next: deferred<string>() };
    const holds = new Map<string, () => void>();
    const { address, connections } = await httpServer((req, res) => {
      const path = req.url ?? "";
      holds.set(path, () => res.end(path));
      arrived.push(path);
      arrival.next.resolve(path);
    });
    /** Resolves with the path of the next request to arrive (or one that already has). */
    async function nextArrival(count: number): Promise<string[]> {
      while (arrived.length < count) {
        arrival.next = deferred<string>();
        await within(
          arrival.next.promise,
          `request ${arrived.length + 1} to reach the server (arrived so far: ${arrived.join(", ")}). ` +
            "With maxSockets: 2, a request waits for a connection only while two are busy; " +
            "one that is freed goes to the oldest waiting request.",
        );
      }
      return arrived.slice(0, count);
    }
    const client = pool(address, { maxSockets: 2 });
    // Settled, not awaited yet: a request that fails early is reported at the end, not lost.
    const responses = Promise.allSettled(
      ["/1", "/2", "/3", "/4", "/5"].map((path) => client.request({ path })),
    );
    expect((await nextArrival(2)).sort()).toEqual(["/1", "/2"]);
    expect(client.stats).toMatchObject({ open: 2, busy: 2, queued: 3 });
    holds.get("/1")?.();
    expect((await nextArrival(3))[2], "first come, first served").toBe("/3");
    holds.get("/2")?.();
    expect((await nextArrival(4))[3]).toBe("/4");
    holds.get("/3")?.();
    expect((await nextArrival(5))[4]).toBe("/5");
    holds.get("/4")?.();
    holds.get("/5")?.();
    const bodies = (await responses).map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value.body.toString("utf8");
    });
    expect(bodies).toEqual(["/1", "/2", "/3", "/4", "/5"]);
    expect(connections(), "connections opened with maxSockets: 2").toBe(2);
  });

  test("frames chunked and HEAD responses, so the next response on the connection reads right", async () => {
    const { address, connections } = await httpServer((req, res) => {
      if (req.url === "/chunked") {
        res.write("one,");
        res.end("two");
      } else {
        res.setHeader("Content-Length", 5);
        res.end(req.method === "HEAD" ? undefined : "fives");
      }
    });
    const client = pool(address, { maxSockets: 1 });
    const chunked = await client.request({ path: "/chunked" });
    expect(chunked.headers["transfer-encoding"]).toBe("chunked");
    expect(chunked.body.toString()).toBe("one,two");
    const head = await client.request({ method: "HEAD", path: "/five" });
    expect(head.headers["content-length"]).toBe("5");
    expect(head.body.length).toBe(0);
    const get = await client.request({ path: "/five" });
    expect(get.body.toString()).toBe("fives");
    expect(connections()).toBe(1);
  });

  test("opens a new connection for each request when the server says Connection: close", async () => {
    // Lesson 03's server: one request per connection.
    const address = await listen(createClosingServer());
    const client = pool(address);
    for (let i = 0; i < 3; i++) {
      const response = await client.request({ path: "/profile/123" });
      expect(response.headers["connection"]).toBe("close");
    }
    expect(client.stats.opened, "connections for three requests to a server that closes").toBe(3);
  });

  test("replaces a connection the server closed while it sat idle", async () => {
    const { server, address, connections } = await httpServer();
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const client = pool(address);
    await client.request();
    const [serverSide] = await accepted;
    const closed = once(serverSide, "close");
    server.closeIdleConnections();
    await within(closed, "the server to close its idle connection");
    const response = await client.request({ path: "/again" });
    expect(response.status).toBe(200);
    expect(connections(), "the closed connection and its replacement").toBe(2);
  });

  test("retries a GET once when a reused connection closes before any response byte", async () => {
    // Connection 1 answers its first request, then closes on the second: the server "closed it
    // as idle" just as the request left. Every other connection answers.
    const { address, seen } = await racingServer(
      (connection, request) => connection > 1 || request === 1,
    );
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/first" });
    const response = await client.request({ path: "/again" });
    expect(response.status).toBe(200);
    expect(seen).toEqual([
      "GET /first on connection 1",
      "GET /again on connection 1",
      "GET /again on connection 2",
    ]);
    expect(client.stats.retries).toBe(1);
  });

  test("puts a retried request back at the front of the line, ahead of requests queued after it", async () => {
    const { address, seen } = await racingServer(
      (connection, request) => connection > 1 || request === 1,
    );
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/first" });
    const again = client.request({ path: "/again" });
    const later = client.request({ path: "/later" });
    await Promise.all([again, later]);
    expect(
      seen,
      "requests the server received, and on which connection. /again was sent first and met " +
        "the idle-close race: its retry is still first in line, before /later",
    ).toEqual([
      "GET /first on connection 1",
      "GET /again on connection 1",
      "GET /again on connection 2",
      "GET /later on connection 2",
    ]);
  });

  test.each([
    { how: "closes", reply: { thenClose: "HTTP/1.1 200 OK\r\nContent-Le" } },
    { how: "is reset", reply: { thenReset: "HTTP/1.1 200 OK\r\nContent-Le" } },
  ])(
    "never retries a GET whose reused connection $how after part of the response",
    async ({ reply }) => {
      // Connection 1 answers its first request, then sends half a response and closes.
      const { address, seen } = await rawServer((connection, request) =>
        connection === 1 && request === 2 ? reply : OK,
      );
      const client = pool(address, { maxSockets: 1 });
      await client.request({ path: "/first" });
      await rejection(
        client.request({ path: "/again" }),
        "A GET whose connection closed after some bytes of its response must reject: the " +
          "server saw the request and began to answer, so this is not the idle-close race " +
          "(RFC 9112 §9.5), where the server never saw it.",
      );
      expect(seen, "requests the server received: no retry").toEqual([
        "GET /first on connection 1",
        "GET /again on connection 1",
      ]);
      expect(client.stats.retries).toBe(0);
    },
  );

  test("never retries a POST: it rejects with POOL_CONNECTION_CLOSED", async () => {
    const { address, seen } = await racingServer(
      (connection, request) => connection > 1 || request === 1,
    );
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/first" });
    const error = await rejection(
      client.request({ method: "POST", path: "/order", body: "{}" }),
      "A POST whose reused connection closed before any response byte must reject with " +
        "PoolError POOL_CONNECTION_CLOSED, not be sent again: a POST may have been applied. " +
        'RFC 9110 §9.2.2: "A client SHOULD NOT automatically retry a request with a ' +
        "non-idempotent method unless it has some means to know that the request semantics are " +
        'actually idempotent"; RFC 9112 §9.3.1 sends clients there. Only a method in ' +
        "IDEMPOTENT_METHODS is sent again.",
    );
    expect(error, "a POST may have been applied: RFC 9110 §9.2.2").toMatchObject({
      code: "POOL_CONNECTION_CLOSED",
    });
    expect(seen.filter((line) => line.startsWith("POST"))).toHaveLength(1);
    expect(client.stats.retries).toBe(0);
  });

  test("retries a GET only once: if the retry meets a closed connection too, it rejects", async () => {
    // Two connections answer one request each, then close on the next.
    const { address, seen } = await racingServer((_connection, request) => request === 1);
    const client = pool(address, { maxSockets: 2 });
    await Promise.all([client.request({ path: "/a" }), client.request({ path: "/b" })]);
    expect(client.stats).toMatchObject({ opened: 2, idle: 2 });
    const error = await rejection(
      client.request({ path: "/c" }),
      "A GET whose retry also met a connection that closed before any response byte must " +
        "reject with PoolError POOL_CONNECTION_CLOSED: one retry, no more (a server that closes " +
        "twice is not in an idle-close race).",
    );
    expect(error).toMatchObject({ code: "POOL_CONNECTION_CLOSED" });
    expect(seen.filter((line) => line.startsWith("GET /c"))).toHaveLength(2);
    expect(client.stats.retries).toBe(1);
  });

  test("never retries on a fresh connection: one that closes before its first response rejects", async () => {
    // Connection 1 closes on its first request; any later connection would answer.
    const { address, seen } = await racingServer((connection) => connection > 1);
    const client = pool(address, { maxSockets: 1 });
    const error = await rejection(
      client.request({ path: "/first" }),
      "A GET on a NEW connection that closed before any response byte must reject with " +
        "PoolError POOL_CONNECTION_CLOSED. The idle-close race (RFC 9112 §9.5) only happens on a " +
        "reused connection: a server that closes a fresh one did so for a reason of its own, and " +
        "might do it again.",
    );
    expect(error).toMatchObject({ code: "POOL_CONNECTION_CLOSED" });
    expect(seen, "requests the server received, and on which connection").toEqual([
      "GET /first on connection 1",
    ]);
    expect(client.stats.retries).toBe(0);
  });

  test("opens a new connection after a response that says Connection: close, even while the server holds the old one open", async () => {
    // Says close, and does not close (until the client does): only the header tells.
    const { address, seen } = await rawServer(
      () => "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    );
    const client = pool(address);
    const first = await client.request({ path: "/first" });
    expect(first.headers["connection"]).toBe("close");
    const second = await client.request({ path: "/second" });
    expect(second.status).toBe(200);
    expect(
      seen,
      "requests the server received, and on which connection. RFC 9112 §9.6: " +
        '"A client that receives a "close" connection option MUST cease sending requests on ' +
        "that connection and close the connection after reading the response message " +
        'containing the "close" connection option". The response says whether the connection ' +
        "persists (RFC 9112 §9.3), as a request does.",
    ).toEqual(["GET /first on connection 1", "GET /second on connection 2"]);
  });

  test("keeps its other idle connections when it closes one whose response said Connection: close", async () => {
    // Each connection's second response says close.
    const { address, seen } = await rawServer((_connection, request) =>
      request === 2 ? "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok" : OK,
    );
    const client = pool(address, { maxSockets: 2 });
    await Promise.all([client.request({ path: "/a" }), client.request({ path: "/b" })]);
    await client.request({ path: "/c" }); // on one of them, which then closes
    await client.request({ path: "/d" }); // on the other, still idle
    expect(
      client.stats.opened,
      `connections opened (requests seen: ${seen.join(", ")}). Closing the connection that ` +
        "said close must leave the other idle connection in the pool",
    ).toBe(2);
  });

  test("reuses the most recently used idle connection first", async () => {
    // The server answers with the number of the connection a request came on.
    const numbers = new WeakMap<net.Socket, number>();
    const { server, address } = await httpServer((req, res) => {
      res.end(String(numbers.get(req.socket)));
    });
    let opened = 0;
    server.on("connection", (socket: net.Socket) => numbers.set(socket, ++opened));
    const client = pool(address, { maxSockets: 2 });
    // Two at once: two connections. They go back to idle in the order their responses come.
    const finished: string[] = [];
    await Promise.all(
      ["/a", "/b"].map((path) =>
        client.request({ path }).then((r) => finished.push(r.body.toString("utf8"))),
      ),
    );
    expect(new Set(finished).size, "two requests at once, on two connections").toBe(2);
    const next = await client.request({ path: "/c" });
    expect(
      next.body.toString("utf8"),
      `the connection that answered last (connections answered in order: ${finished.join(", ")}). ` +
        "The most recently used goes first (last in, first out), so the others stay idle and " +
        "can time out.",
    ).toBe(finished[1]);
  });

  test.each([
    {
      what: "the start of a response nobody asked for",
      extra: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsm",
    },
    { what: "a whole response nobody asked for", extra: OK },
  ])("never reuses a connection whose last chunk held $what", async ({ extra }) => {
    // Connection 1 answers its first request with the response and, in the same write, more.
    // Small and in one write, it arrives in one chunk. Reused, the rest would be read as the
    // answer to the next request.
    const { address, seen } = await rawServer((connection, request) =>
      connection === 1 && request === 1 ? OK + extra : OK,
    );
    const client = pool(address, { maxSockets: 1 });
    const first = await client.request({ path: "/first" });
    expect(first.body.toString("utf8")).toBe("ok");
    const second = await client.request({ path: "/second" });
    expect(second.body.toString("utf8")).toBe("ok");
    expect(
      seen,
      `requests the server received, and on which connection. After the response, the chunk ` +
        `held ${show(extra)}: bytes nobody asked for, so the connection cannot be trusted. ` +
        "Reuse a connection only when the final response ended the chunk and the parser is " +
        "between messages.",
    ).toEqual(["GET /first on connection 1", "GET /second on connection 2"]);
  });

  test("rejects a malformed response with lesson 03's HttpError", async () => {
    const { address } = await rawServer(() => "HTTP/1.1 abc\r\n\r\n");
    const client = pool(address);
    const error = await rejection(
      client.request({ path: "/bad" }),
      "A response whose status line is malformed must reject with lesson 03's HttpError, " +
        "from the ResponseParser.",
    );
    expect(error, `rejected with: ${codeOf(error)}`).toBeInstanceOf(HttpError);
  });

  test("rejects a request whose header value holds a line break, before it is sent", async () => {
    const { address, seen } = await rawServer(() => OK);
    const client = pool(address);
    const error = await rejection(
      client.request({ path: "/", headers: { "X-Note": "a\r\nX-Injected: yes" } }),
      "a header value with CR LF would start a header field of its own (RFC 9110 §5.5): the " +
        "request must reject before it is sent",
    );
    expect(codeOf(error), "the error of lesson 03's serializeRequest(), as it threw it").toBe(
      "HTTP_INVALID_FIELD",
    );
    expect(seen, "requests the server received").toEqual([]);
  });

  test("skips a 1xx interim response and resolves with the final one (RFC 9110 §15.2)", async () => {
    const { address } = await rawServer(() => "HTTP/1.1 100 Continue\r\n\r\n" + OK);
    const client = pool(address);
    const response = await client.request({ method: "POST", path: "/upload", body: "{}" });
    expect(
      [response.status, response.body.toString("utf8")],
      'the final response: "100 Continue" is interim, and the final response follows it',
    ).toEqual([200, "ok"]);
  });

  test("reads a response whose body ends with the close of the connection", async () => {
    // No Content-Length and not chunked: the body runs to the close (RFC 9112 §6.3).
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\n\r\nuntil the close"));
    });
    const client = pool(await listen(server));
    const response = await client.request({ path: "/stream" });
    expect(
      response.body.toString("utf8"),
      "the body, read to the server's FIN: the end of the connection is what frames it",
    ).toBe("until the close");
  });

  test("closes an idle connection after its idleTimeoutMs", async () => {
    const { server, address } = await httpServer();
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const client = pool(address, { idleTimeoutMs: 30 });
    await client.request();
    const [serverSide] = await accepted;
    // The pool's FIN: the server side reads the end of the stream.
    await within(
      once(serverSide, "end"),
      "the pool's FIN on its idle connection 30 ms (idleTimeoutMs) after the response",
    );
    expect(client.stats.idle).toBe(0);
  });

  test.each([
    {
      what: "Connection: CLOSE (tokens are case-insensitive)",
      head: "HTTP/1.1 200 OK\r\nConnection: CLOSE",
      reused: false,
    },
    { what: "an HTTP/1.0 response without keep-alive", head: "HTTP/1.0 200 OK", reused: false },
    {
      what: "an HTTP/1.0 response with Connection: Keep-Alive",
      head: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive",
      reused: true,
    },
  ])("reads reuse from the response with persists(): $what", async ({ head, reused }) => {
    const response = `${head}\r\nContent-Length: 2\r\n\r\nok`;
    const { address, seen } = await rawServer(() => response);
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/a" });
    await client.request({ path: "/b" });
    expect(
      seen,
      `requests the server received after the response ${show(response)}: RFC 9112 §9.3, the ` +
        `same rule as the server's (persists()), ${reused ? "reuses" : "does not reuse"} the connection`,
    ).toEqual(["GET /a on connection 1", `GET /b on connection ${reused ? 1 : 2}`]);
  });

  test("a closing connection counts against maxSockets until its close", async () => {
    // The server answers with Connection: close, and closes its side only when the test says so.
    const release = deferred();
    let connections = 0;
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const id = ++connections;
      socket.on("error", () => {});
      socket.on("data", () => {
        socket.write(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n${id}`);
      });
      socket.on("end", () => void release.promise.then(() => socket.end()));
    });
    const address = await listen(server);
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/a" });
    const next = client.request({ path: "/b" });
    expect(
      client.stats,
      "with maxSockets: 1, just after a response that said Connection: close, while the " +
        "server has not closed yet: the closing connection still counts, so the next request waits",
    ).toMatchObject({ open: 1, busy: 0, idle: 0, queued: 1 });
    release.resolve();
    expect((await next).body.toString("utf8"), "the next request, on a new connection").toBe("2");
  });

  test("clears a reused connection's idle timer while a request is on it", async () => {
    // The pool's idle timer must not close a connection while its response is still coming.
    // The held response is released once another pool's idle connection, idle since after this
    // one, has timed out: by then this connection's old timer would have fired.
    const release = deferred();
    const { server, address } = await httpServer((req, res) => {
      if (req.url !== "/held") return void res.end("ok");
      void release.promise.then(() => res.end("held"));
    });
    const client = pool(address, { idleTimeoutMs: 50, maxSockets: 1 });
    await client.request({ path: "/first" });
    const witness = pool(address, { idleTimeoutMs: 50 });
    const second = once(server, "connection") as Promise<[net.Socket]>;
    await witness.request({ path: "/witness" });
    const [witnessSide] = await second;
    witnessSide.on("end", () => release.resolve());
    const held = client.request({ path: "/held" });
    const response = await held;
    expect(response.body.toString("utf8")).toBe("held");
    expect(client.stats, "one connection, never retried").toMatchObject({ opened: 1, retries: 0 });
  });

  test("destroys an idle connection on which bytes arrive that nobody asked for", async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => {});
      socket.on("data", () => socket.write(OK));
    });
    const address = await listen(server);
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/a" });
    const [first] = sockets;
    assert(first !== undefined);
    const closed = once(first, "close");
    // The pool is idle on this connection: a response now answers nothing it sent.
    first.write(OK);
    await within(
      Promise.race([closed, thrownLater()]),
      `the pool to close an idle connection on which ${show(OK)} arrived unasked: read as the ` +
        "answer to the next request, it would be the wrong one",
    );
    await client.request({ path: "/b" });
    expect(sockets, "connections the server accepted").toHaveLength(2);
  });

  test("close() closes the idle connections at once", async () => {
    const { server, address } = await httpServer();
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const client = pool(address, { idleTimeoutMs: 60_000 });
    await client.request();
    const [serverSide] = await accepted;
    const ended = once(serverSide, "end");
    client.close();
    await within(ended, "the pool's FIN on its idle connection as soon as close() is called");
    expect(client.stats.idle).toBe(0);
  });

  test("never retries a GET whose reused connection closes after a 1xx response", async () => {
    const { address, seen } = await rawServer((connection, request) =>
      connection === 1 && request === 2 ? { thenClose: "HTTP/1.1 100 Continue\r\n\r\n" } : OK,
    );
    const client = pool(address, { maxSockets: 1 });
    await client.request({ path: "/first" });
    const error = await rejection(
      client.request({ path: "/again" }),
      "A GET whose connection closed after a 100 Continue must reject: the server saw it and " +
        "began to answer, so this is not the idle-close race (RFC 9112 §9.5).",
    );
    expect(
      codeOf(error),
      "the rejection of a request whose connection closed before its final response",
    ).toBe("POOL_CONNECTION_CLOSED");
    expect(seen, "requests the server received: no retry").toEqual([
      "GET /first on connection 1",
      "GET /again on connection 1",
    ]);
  });

  test.each([
    { what: "is reset", reply: { thenReset: "" } },
    { what: "is refused", reply: undefined },
  ])("rejects a request whose connection $what, and the process goes on", async ({ reply }) => {
    let address: Address;
    if (reply === undefined) {
      // A port nobody listens on: opened, then closed.
      const gone = net.createServer();
      address = await listen(gone);
      await new Promise((resolve) => gone.close(resolve));
    } else {
      address = (await rawServer(() => reply)).address;
    }
    const client = pool(address);
    const error = await rejection(
      client.request({ method: "POST", path: "/x", body: "{}" }),
      'A request whose connection fails must reject. The pool needs an "error" listener on ' +
        "every socket it opens: without one, a reset or a refused connection ends the process.",
    );
    expect(codeOf(error)).toBe("POOL_CONNECTION_CLOSED");
  });

  test("close() rejects queued and later requests with POOL_CLOSED, and lets the busy one finish", async () => {
    const hold = deferred();
    const { address } = await httpServer(
      (_req, res) => void hold.promise.then(() => res.end("ok")),
    );
    const client = pool(address, { maxSockets: 1 });
    const busy = client.request({ path: "/busy" });
    busy.catch(() => {}); // an early failure is reported where it is awaited, below
    const queued = client.request({ path: "/queued" });
    client.close();
    await expect(queued).rejects.toMatchObject({ code: "POOL_CLOSED" });
    hold.resolve();
    expect((await busy).status).toBe(200);
    await expect(client.request()).rejects.toMatchObject({ code: "POOL_CLOSED" });
  });

  test("uses one connection for ten requests to your keep-alive server", async () => {
    const { server, address, wait } = await serve();
    const client = pool(address);
    for (let i = 0; i < 10; i++) {
      const response = wait(client.request({ path: "/profile/124" }), `response ${i + 1} of 10`);
      expect((await response).status).toBe(200);
    }
    expect(server.stats()).toMatchObject({ connectionsOpened: 1, requests: 10 });
  });
});
