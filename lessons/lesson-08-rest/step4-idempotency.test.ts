import { once } from "node:events";
import http from "node:http";
import express from "express";
import { describe, expect, test } from "vitest";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deferred, RawClient } from "../../shared/testing/raw.ts";
import { isNotWritten, notWrittenIn } from "../../shared/testing/server-log.ts";
import { idempotency, type IdempotencyOptions } from "#lesson/lesson-08-rest/idempotency.ts";
import { problemHandler } from "#lesson/lesson-08-rest/problem.ts";
import { createStore } from "#lesson/lesson-08-rest/store.ts";
import { request, startApi, type Api, type Reply } from "./helpers.ts";

const GRACE = { name: "Grace Hopper", email: "grace@example.com" };

function creates(api: Api): number {
  return api.store.queryLog.filter((name) => name === "createUser").length;
}

/** A POST /users with a key, as a client that may retry sends it. */
function postUser(api: Api, key: string, body: unknown = GRACE): Promise<Reply> {
  return request(api, "POST", "/users", { headers: { "Idempotency-Key": key }, body });
}

function expectProblem(reply: Reply, status: number, type: string, what: string): void {
  expect(reply.status, `${what}: ${reply.text}`).toBe(status);
  expect(reply.headers.get("content-type"), `a ${status} is a problem document`).toMatch(
    /^application\/problem\+json/,
  );
  expect((reply.json as { type?: string }).type, "its type").toMatch(new RegExp(type));
}

/**
 * A small app of the test's own around idempotency(): its handlers count their runs and, when
 * told, wait for the test to let them answer, like a handler waiting on a slow database.
 */
interface SlowApp {
  base: string;
  /** How many times each route's handler ran ("POST /a"). */
  runs: Map<string, number>;
  /** What problemHandler logged: a stub reached in the middleware fails the test with its message. */
  logged: unknown[];
  /**
   * The next request waits in its handler: `started` once it is there, until `release()`;
   * `gone` once the server has seen its client hang up.
   */
  hold: () => { started: Promise<void>; release: () => void; gone: Promise<void> };
  /** The next request's handler throws, as one would when its database went away. */
  failNext: () => void;
}

async function startSlowApp(options: IdempotencyOptions): Promise<SlowApp> {
  const runs = new Map<string, number>();
  const logged: unknown[] = [];
  let held: { started: () => void; released: Promise<void>; gone: () => void } | undefined;
  let failing = false;
  const app = express();
  app.use(express.json());
  const handler: express.RequestHandler = async (req, res) => {
    const route = `${req.method} ${req.path}`;
    const run = (runs.get(route) ?? 0) + 1;
    runs.set(route, run);
    if (held) {
      const { started, released, gone } = held;
      held = undefined;
      res.once("close", gone);
      started();
      await released;
    }
    if (failing) {
      failing = false;
      throw new Error("the database went away");
    }
    res.status(201).location(`${req.path}/${run}`).json({ route, run, body: req.body });
  };
  const middleware = idempotency(options);
  app.post("/a", middleware, handler);
  app.post("/b", middleware, handler);
  app.patch("/a", middleware, handler);
  // Answers written otherwise than with res.json: no body at all, and a body in two writes.
  app.post("/empty", middleware, (req, res) => {
    runs.set("POST /empty", (runs.get("POST /empty") ?? 0) + 1);
    res.status(202).end();
  });
  app.post("/pieces", middleware, (req, res) => {
    const run = (runs.get("POST /pieces") ?? 0) + 1;
    runs.set("POST /pieces", run);
    res.status(201).type("json");
    res.write('{"run":');
    res.end(Buffer.from(`${run}}`));
  });
  app.use(problemHandler((error) => logged.push(error)));
  const server = http.createServer(app);
  const { host, port } = await listen(server);
  return {
    base: `http://${host}:${port}`,
    runs,
    hold() {
      const started = deferred();
      const released = deferred();
      const gone = deferred();
      held = { started: started.resolve, released: released.promise, gone: gone.resolve };
      return { started: started.promise, release: released.resolve, gone: gone.promise };
    },
    failNext() {
      failing = true;
    },
    logged,
  };
}

/**
 * A stub reached behind a 500 fails the test with its own message: logged by problemHandler, or,
 * when problemHandler is itself a stub, in the page of express's last-resort handler.
 */
function throwIfStub(app: SlowApp, status: number, text: string): void {
  const stub = app.logged.find(isNotWritten);
  if (stub) throw stub;
  const unwritten = status === 500 ? notWrittenIn(text) : undefined;
  if (unwritten) throw new Error(unwritten);
}

/** A request to the test's app with a key, bounded, the whole reply read. */
async function send(
  app: SlowApp,
  method: string,
  path: string,
  key: string,
  body: unknown,
): Promise<Reply> {
  const response = await within(
    fetch(app.base + path, {
      method,
      headers: { "Idempotency-Key": key, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    `an answer to ${method} ${path}`,
  );
  const text = await within(response.text(), `the body of the answer to ${method} ${path}`);
  throwIfStub(app, response.status, text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

describe("Step 4: Retries made safe", () => {
  test("a POST retried with the same Idempotency-Key gets the same 201, Location and body, and creates nothing", async () => {
    const api = await startApi();
    const first = await postUser(api, '"8e03978e-40d5-43e8-bc93-6894a57f9324"');
    expect(first.status, `the first POST /users: ${first.text}`).toBe(201);
    const retry = await postUser(api, '"8e03978e-40d5-43e8-bc93-6894a57f9324"');
    expect(retry.status, "the retry gets the stored answer: the same 201 Created, not a 200").toBe(
      201,
    );
    expect(retry.headers.get("location"), "the same Location").toBe(first.headers.get("location"));
    expect(retry.text, "the same body, byte for byte").toBe(first.text);
    expect(creates(api), "the retry ran nothing: one user was created").toBe(1);
    const named = api.store.listUsers({ limit: 100 }).filter((u) => u.name === GRACE.name);
    expect(named, "one Grace Hopper in the store").toHaveLength(1);
  });

  test("without a key the same POST twice is two requests: the second one is run too", async () => {
    const api = await startApi();
    const first = await request(api, "POST", "/users", { body: GRACE });
    expect(first.status, `POST /users: ${first.text}`).toBe(201);
    const second = await request(api, "POST", "/users", {
      body: { ...GRACE, email: "g@example.com" },
    });
    expect(second.status, "a POST without Idempotency-Key is handled as a new request").toBe(201);
    expect(second.headers.get("location")).not.toBe(first.headers.get("location"));
    expect(creates(api)).toBe(2);
  });

  test("the same key with another payload is 422, a problem document, and creates nothing", async () => {
    const api = await startApi();
    await postUser(api, "order-7");
    const reused = await postUser(api, "order-7", {
      name: "Alan Turing",
      email: "alan@example.com",
    });
    expectProblem(reused, 422, "idempotency-key-reused", "a key reused for another request");
    expect(creates(api), "nothing was created for the 422").toBe(1);
    const other = await postUser(api, "order-8", {
      name: "Alan Turing",
      email: "alan@example.com",
    });
    expect(other.status, "with a key of its own the same request is created").toBe(201);
  });

  test("an empty Idempotency-Key names nothing: 400, and nothing is created", async () => {
    const api = await startApi();
    for (const key of ["", '""']) {
      const reply = await postUser(api, key);
      expectProblem(reply, 400, "validation", `Idempotency-Key: ${key}`);
    }
    expect(creates(api)).toBe(0);
  });

  test("a retry after the connection broke gets the 201 its client never saw, and nothing is created twice", async () => {
    // The client's connection is cut once the server is creating the user: the work is done,
    // the 201 goes nowhere. That client cannot tell this from a request that never arrived.
    let cut: (() => void) | undefined;
    const store = createStore({ onQuery: (name) => name === "createUser" && cut?.() });
    const api = await startApi({ store });
    const { hostname, port } = new URL(api.base);
    const client = await RawClient.open({ host: hostname, port: Number(port) });
    const body = JSON.stringify(GRACE);
    cut = () => {
      cut = undefined;
      client.socket.destroy();
    };
    const closed = once(client.socket, "close");
    // An answer means the server never got to creating the user: say what it answered.
    const answered = once(client.socket, "data").then(() => {
      const stub = api.log.map((entry) => entry.error).find(isNotWritten);
      throw (
        stub ?? new Error(`The server answered without creating a user: ${show(client.received)}`)
      );
    });
    answered.catch(() => {});
    await client.send(
      `POST /users HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nIdempotency-Key: "retry-me"\r\n\r\n${body}`,
    );
    await within(
      Promise.race([closed, answered]),
      "the connection cut while the server creates the user",
    );
    expect(show(client.received), "the first client saw no answer").toBe('""');
    expect(creates(api), "the server did the work").toBe(1);

    const retry = await postUser(api, '"retry-me"');
    expect(retry.status, `the retry with the same key: ${retry.text}`).toBe(201);
    expect(retry.headers.get("location"), "the Location of the user the lost request created").toBe(
      `/users/${(retry.json as { id: string }).id}`,
    );
    expect(creates(api), "the retry created nothing").toBe(1);
    expect(store.getUser((retry.json as { id: string }).id)?.name).toBe(GRACE.name);
  });

  test("a retry while the first request is still running is 409, and once it answers, the retry gets its 201", async () => {
    const app = await startSlowApp({ ttlMs: 60_000 });
    const { started, release } = app.hold();
    const first = send(app, "POST", "/a", "k1", { n: 1 });
    first.catch(() => {}); // awaited below; until then a stub's rejection is not unhandled
    const answeredEarly = first.then((reply) => {
      throw new Error(`POST /a answered ${reply.status} before its handler ran: ${reply.text}`);
    });
    await within(Promise.race([started, answeredEarly]), "the first POST /a to reach its handler");
    const meanwhile = await send(app, "POST", "/a", "k1", { n: 1 });
    expectProblem(meanwhile, 409, "idempotency-key-in-use", "a retry while the first is in flight");
    release();
    const answered = await first;
    expect(answered.status, "the first request answers as its handler says").toBe(201);
    const retry = await send(app, "POST", "/a", "k1", { n: 1 });
    expect(retry.status, "a retry now gets the first one's answer").toBe(201);
    expect(retry.text, "the stored body, once the handler had finished it").toBe(answered.text);
    expect(app.runs.get("POST /a"), "the handler ran once").toBe(1);
  });

  test("a client that hung up while its request ran gets, on retry, the answer the handler gave after", async () => {
    const app = await startSlowApp({ ttlMs: 60_000 });
    const { started, release, gone } = app.hold();
    const abort = new AbortController();
    const lost = fetch(`${app.base}/a`, {
      method: "POST",
      headers: { "Idempotency-Key": "k1", "Content-Type": "application/json" },
      body: JSON.stringify({ n: 1 }),
      signal: abort.signal,
    });
    lost.catch(() => {}); // it is aborted: its client never sees an answer
    const answeredEarly = lost.then(async (response) => {
      throwIfStub(app, response.status, await response.text());
      throw new Error(`POST /a answered ${response.status} before its handler ran`);
    });
    answeredEarly.catch(() => {});
    await within(Promise.race([started, answeredEarly]), "the first POST /a to reach its handler");
    abort.abort();
    await within(gone, "the server to see its client hang up");
    // The handler answers now, to a connection that is gone: its response never finishes.
    release();
    const retry = await send(app, "POST", "/a", "k1", { n: 1 });
    expect(
      retry.status,
      `the retry gets the answer the handler gave, stored when it ended the response, not when the bytes left: ${retry.text}`,
    ).toBe(201);
    expect(app.runs.get("POST /a"), "the work was done once").toBe(1);
  });

  test("a key is remembered for ttlMs and forgotten after it", async () => {
    let clock = 1_000_000;
    const app = await startSlowApp({ ttlMs: 10_000, now: () => clock });
    const first = await send(app, "POST", "/a", "k1", { n: 1 });
    clock += 9_999;
    const within9999 = await send(app, "POST", "/a", "k1", { n: 1 });
    expect(within9999.text, "9,999 ms later the key is still remembered: the stored answer").toBe(
      first.text,
    );
    expect(app.runs.get("POST /a")).toBe(1);
    clock += 1;
    const after = await send(app, "POST", "/a", "k1", { n: 2 });
    expect(
      after.status,
      "10,000 ms after its first use the key has expired: a new request, even with another payload",
    ).toBe(201);
    expect(app.runs.get("POST /a"), "so the handler ran again").toBe(2);
  });

  test("a key belongs to one resource and one method: the same key elsewhere is another request", async () => {
    const app = await startSlowApp({ ttlMs: 60_000 });
    const before: string[] = [];
    for (const [method, path] of [
      ["POST", "/a"],
      ["POST", "/b"],
      ["PATCH", "/a"],
    ] as const) {
      const route = `${method} ${path}`;
      const reply = await send(app, method, path, "shared", { n: 1 });
      expect(reply.status, `${route} with a key used on another route: ${reply.text}`).toBe(201);
      expect(
        app.runs.get(route) ?? 0,
        before.length === 0
          ? `${route} ran its handler`
          : `${route} with Idempotency-Key: shared, already used on ${before.join(" and ")}, must run its own handler: a key is scoped to its method and path, and the same key on another route is another request. It ran 0 times: it got the answer stored for ${before.join(" or ")} (${reply.text})`,
      ).toBe(1);
      before.push(route);
    }
  });

  test("an answer with no body, or written in pieces, is replayed byte for byte", async () => {
    const app = await startSlowApp({ ttlMs: 60_000 });
    let before: string | undefined;
    for (const path of ["/empty", "/pieces"]) {
      const first = await send(app, "POST", path, "k1", { n: 1 });
      const retry = await send(app, "POST", path, "k1", { n: 1 });
      expect(retry.status, `the retry of POST ${path} gets the first one's status`).toBe(
        first.status,
      );
      expect(retry.text, `and its body, every write of it: ${first.text}`).toBe(first.text);
      const stored =
        before === undefined
          ? ""
          : `; if it never ran, it got the answer stored for POST ${before} under the same key k1 (${first.status} ${show(first.text)}), but a key is scoped to its method and path`;
      expect(
        app.runs.get(`POST ${path}`) ?? 0,
        `POST ${path} runs its handler once, and its retry gets the stored answer${stored}`,
      ).toBe(1);
      before = path;
    }
  });

  test("a failed attempt (5xx) is not stored: its retry runs again", async () => {
    const app = await startSlowApp({ ttlMs: 60_000 });
    app.failNext();
    const failed = await send(app, "POST", "/a", "k1", { n: 1 });
    expect(failed.status, "the handler failed").toBe(500);
    const retry = await send(app, "POST", "/a", "k1", { n: 1 });
    expect(
      retry.status,
      "a 500 says the attempt failed, not what its answer is: the retry runs",
    ).toBe(201);
    expect(app.runs.get("POST /a")).toBe(2);
  });
});
