import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, expect, onTestFinished, test } from "vitest";
import {
  compareIds,
  createEventStream,
  type EventStreamOptions,
  type StreamMessage,
} from "#lesson/lesson-13-scaling/events.ts";
import { within } from "#shared/testing/patience.ts";
import { describeCluster, startRedis, type RedisProcess } from "./cluster.ts";
import { redisCli, startCluster, untilAnswer, type Cluster } from "./chat-helpers.ts";

/** One instance's event stream on an http.Server of this process, on port 0. */
async function serve(redis: RedisProcess, options: Partial<EventStreamOptions> = {}) {
  const events = createEventStream({ instance: "t", redisUrl: redis.url, key, ...options });
  const server = http.createServer((request, response) => events.handle(request, response));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  onTestFinished(async () => {
    await events.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return origin;
}

let keys = 0;
let key = "";

async function post(origin: string, text: string, author = "ada"): Promise<StreamMessage> {
  const response = await fetch(`${origin}/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ author, text }),
  });
  const body = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST /messages answered ${response.status}, not 201: ${body}`);
  }
  return JSON.parse(body) as StreamMessage;
}

interface Received {
  type: string;
  id: string;
  data: string;
}

/** An EventSource (the `eventsource` package) that records every event, and where it connected. */
function listen(url: string, lastEventId?: string) {
  const received: Received[] = [];
  const instances: string[] = [];
  const waiters: (() => void)[] = [];
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      // The first connection's Last-Event-ID, as a client coming back from an earlier session sends it.
      if (lastEventId !== undefined && !headers.has("Last-Event-ID")) {
        headers.set("Last-Event-ID", lastEventId);
      }
      const response = await fetch(input, { ...init, headers });
      instances.push(response.headers.get("X-Instance") ?? "?");
      return response;
    },
  });
  const record = (type: string) => (event: MessageEvent) => {
    received.push({ type, id: event.lastEventId, data: event.data as string });
    for (const wake of waiters.splice(0)) wake();
  };
  source.addEventListener("message", record("message"));
  source.addEventListener("expired", record("expired"));
  onTestFinished(() => source.close());
  const texts = () =>
    received
      .filter((e) => e.type === "message")
      .map((e) => (JSON.parse(e.data) as StreamMessage).text);
  return {
    source,
    received,
    instances,
    texts,
    /** Resolves once `count` message events have come. */
    async messages(count: number, what = `${count} message events`): Promise<void> {
      const reached = async () => {
        while (texts().length < count) await new Promise<void>((wake) => waiters.push(wake));
      };
      await within(reached(), () => `${what}; got ${JSON.stringify(texts())}`, 4_000);
    },
    async open(): Promise<void> {
      if (source.readyState === EventSource.OPEN) return;
      await within(
        new Promise<void>((resolve, reject) => {
          source.addEventListener("open", () => resolve(), { once: true });
          source.addEventListener(
            "error",
            (event) => {
              if (source.readyState === EventSource.CLOSED)
                reject(
                  new Error(
                    `the EventSource gave up: ${String((event as { message?: string }).message)}`,
                  ),
                );
            },
            { once: true },
          );
        }),
        `GET ${url} to open as an event stream`,
      );
    },
  };
}

describeCluster(["redis-server"])("Step 4: An event stream whose history is in Redis", () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  // Each test has a stream of its own.
  const fresh = () => (key = `lesson-13:test-events:${++keys}`);

  test("POST /messages appends the message to the Redis Stream and answers 201 with the entry's id", async () => {
    fresh();
    const origin = await serve(redis);
    const message = await post(origin, "héllo, wörld ✓");
    expect(message.id, "the id is the stream entry's: <ms>-<seq>").toMatch(/^\d+-\d+$/);
    expect(message).toMatchObject({ author: "ada", text: "héllo, wörld ✓" });
    // redis-cli, an outside client, sees the entry under that id.
    const stored = await redisCli(redis.port, "XRANGE", key, "-", "+");
    expect(stored, `XRANGE ${key} - +`).toContain(message.id);
    expect(stored).toContain("héllo, wörld ✓");
  });

  test("a bad message is 400 with a problem body, and the next good one is stored", async () => {
    fresh();
    const origin = await serve(redis);
    for (const body of ['{"author":"ada"}', "not json", '{"author":"","text":"x"}']) {
      const response = await fetch(`${origin}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      expect(response.status, `POST ${body}`).toBe(400);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
    await post(origin, "still serving");
    expect(await redisCli(redis.port, "XLEN", key)).toBe("1\n");
  });

  test("GET /events pushes each new message as an event whose id is its entry id", async () => {
    fresh();
    const origin = await serve(redis);
    const client = listen(`${origin}/events`);
    await client.open();
    const first = await post(origin, "one");
    const second = await post(origin, "two");
    await client.messages(2);
    expect(client.received.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(client.texts()).toEqual(["one", "two"]);
  });

  test("a message posted on one instance reaches the streams of another, through Redis", async () => {
    fresh();
    const a = await serve(redis, { instance: "a" });
    const b = await serve(redis, { instance: "b" });
    const client = listen(`${a}/events`);
    await client.open();
    await post(b, "from b");
    await client.messages(1, "the message posted on b, on a's stream");
  });

  test("Last-Event-ID replays what came after it, not the event it names, then goes on live", async () => {
    fresh();
    const origin = await serve(redis);
    const sent = [];
    for (const text of ["m1", "m2", "m3", "m4"]) sent.push(await post(origin, text));
    const client = listen(`${origin}/events`, (sent[1] as StreamMessage).id);
    await client.messages(2, "the replay of m3 and m4 (XRANGE with an exclusive start)");
    await post(origin, "m5");
    await client.messages(3, "m5, live after the replay");
    expect(client.texts(), "each once, in order, none before the Last-Event-ID").toEqual([
      "m3",
      "m4",
      "m5",
    ]);
  });

  test("messages posted while a replay is read are neither lost nor doubled", async () => {
    fresh();
    const origin = await serve(redis);
    const first = await post(origin, "0");
    for (let i = 1; i < 200; i++) await post(origin, String(i));
    const client = listen(`${origin}/events`, first.id);
    // Posted while the stream opens and replays: each must come exactly once.
    const posting = (async () => {
      for (let i = 200; i < 260; i++) await post(origin, String(i));
    })();
    await posting;
    await client.messages(259, "every message after the first, once");
    const expected = Array.from({ length: 259 }, (_, i) => String(i + 1));
    expect(client.texts()).toEqual(expected);
  });

  test("a Last-Event-ID that is no entry id is a first connection: only what comes next", async () => {
    fresh();
    const origin = await serve(redis);
    await post(origin, "before");
    const client = listen(`${origin}/events`, "42");
    await client.open();
    await post(origin, "after");
    await client.messages(1);
    expect(client.texts()).toEqual(["after"]);
  });

  test("an id trimmed from the stream gets an expired event, then what is kept", async () => {
    fresh();
    // MAXLEN ~ trims whole nodes of the stream; a small node size makes it trim at once here.
    await redisCli(redis.port, "CONFIG", "SET", "stream-node-max-entries", "2");
    onTestFinished(
      () => void redisCli(redis.port, "CONFIG", "SET", "stream-node-max-entries", "100"),
    );
    const origin = await serve(redis, { maxMessages: 4 });
    const first = await post(origin, "old 0");
    for (let i = 1; i < 12; i++) await post(origin, `old ${i}`);
    const client = listen(`${origin}/events`, first.id);
    await client.messages(1, "the kept messages after an expired event");
    expect(
      client.received[0]?.type,
      "an expired event first: some of what came after the id is gone",
    ).toBe("expired");
    expect(Number(await redisCli(redis.port, "XLEN", key)), "the stream is capped").toBeLessThan(
      12,
    );
  });

  test("while Redis is away a POST is 503 at once, and the open stream carries on once it is back", async () => {
    fresh();
    const origin = await serve(redis, { retryMs: 100 });
    const client = listen(`${origin}/events`);
    await client.open();
    await post(origin, "before");
    await client.messages(1);
    await redis.kill();
    try {
      const response = await within(
        fetch(`${origin}/messages`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ author: "ada", text: "during" }),
        }),
        "an answer to a POST while Redis is down: 503 at once, not a wait for Redis",
      );
      expect(response.status, await response.text()).toBe(503);
    } finally {
      await redis.start();
    }
    // The instance's reader comes back by itself; the post after the outage reaches the stream.
    // Until the instance's ioredis has reconnected, which nothing outside it shows, a POST is 503.
    await untilAnswer(
      () =>
        within(post(origin, "after"), "an answer to POST /messages").then(
          () => "201",
          (error: Error) => error.message,
        ),
      (answer) => answer === "201",
      "a POST to succeed once Redis is back",
      4_000,
    );
    await client.messages(2, "the message posted after Redis came back");
    expect(client.texts()).toEqual(["before", "after"]);
  });

  test("entry ids compare as Redis orders them: milliseconds, then sequence, as whole numbers", () => {
    expect(compareIds("10-0", "9-0")).toBeGreaterThan(0);
    expect(compareIds("5-10", "5-9")).toBeGreaterThan(0);
    expect(compareIds("18446744073709551615-1", "18446744073709551615-0")).toBeGreaterThan(0);
    expect(compareIds("7-3", "7-3")).toBe(0);
    expect(compareIds("1-0", "2-0")).toBeLessThan(0);
  });
});

describeCluster()("Step 4: An event stream whose history is in Redis, behind HAProxy", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 20_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("a client whose instance is killed reconnects through HAProxy to another and misses nothing", async () => {
    const origin = cluster.haproxy.origin;
    const client = listen(`${origin}/events`);
    await client.open();
    const first = client.instances[0] as string;
    for (let i = 0; i < 10; i++) await post(origin, `m${i}`);
    await client.messages(10);
    // Posted straight to an instance that lives on: a POST cut short by the kill could not tell
    // whether its message was stored.
    const survivor = [...cluster.instances.values()].find((i) => i.name !== first);
    const posting = (async () => {
      for (let i = 10; i < 40; i++) await post(survivor?.origin as string, `m${i}`);
    })();
    await cluster.instances.get(first)?.kill();
    await posting;
    await client.messages(40, "all 40 messages, across the kill");
    expect(client.texts(), "none lost, none twice").toEqual(
      Array.from({ length: 40 }, (_, i) => `m${i}`),
    );
    expect(client.instances.at(-1), `reconnected to another instance than ${first}`).not.toBe(
      first,
    );
  }, 15_000);
});
