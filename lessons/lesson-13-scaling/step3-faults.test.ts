/**
 * Step 3's faults, each on the running cluster: an instance killed mid-stream, Redis restarted,
 * an instance paused. Clients are lesson 06's reference client, which reconnects (through
 * HAProxy, so elsewhere) and resends what has no ack.
 */
import { afterAll, beforeAll, expect, onTestFinished, test } from "vitest";
import { connectChat, type ChatClient } from "#reference/lesson-06-websockets/chat-client.ts";
import type {
  ChatMessage,
  PresenceMessage,
} from "#reference/lesson-06-websockets/chat-protocol.ts";
import { DEFAULT_PRESENCE_TTL_MS } from "#lesson/lesson-13-scaling/presence.ts";
import { PATIENCE_MS, within } from "#shared/testing/patience.ts";
import { describeCluster } from "./cluster.ts";
import {
  isPresence,
  openPeer,
  redisCli,
  startCluster,
  uniqueRoom,
  untilAnswer,
  type Cluster,
} from "./chat-helpers.ts";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
}, 20_000);
afterAll(async () => {
  await cluster?.stop();
});

/** A lesson 06 client through HAProxy, with what it heard kept, and a bounded wait on it. */
interface Watched {
  chat: ChatClient;
  user: string;
  messages: ChatMessage[];
  presences: PresenceMessage[];
  drops: number;
  until(done: () => boolean, expected: string, ms?: number): Promise<void>;
}

function client(user: string): Watched {
  const chat = connectChat({
    url: `${cluster.haproxy.origin.replace("http", "ws")}/chat`,
    token: `${user}-token`,
    clientId: `${user}-${Math.random().toString(36).slice(2)}`,
    backoff: { baseMs: 10, maxMs: 100 },
  });
  onTestFinished(() => chat.close());
  const checks = new Set<() => void>();
  const wake = () => [...checks].forEach((check) => check());
  const watched: Watched = {
    chat,
    user,
    messages: [],
    presences: [],
    drops: 0,
    until(done, expected, ms = PATIENCE_MS) {
      let check = () => {};
      const reached = new Promise<void>((resolve) => {
        check = () => done() && resolve();
        checks.add(check);
        check();
      });
      return within(
        reached,
        () =>
          `Nothing after ${ms} ms. ${user} expected ${expected}; it heard ` +
          JSON.stringify(watched.messages.map((m) => m.text)) +
          `, presence ${JSON.stringify(watched.presences.at(-1)?.members)}, ${watched.drops} drop(s), ${chat.unacknowledged} unacknowledged`,
        ms,
      ).finally(() => checks.delete(check));
    },
  };
  chat.on("message", (message) => watched.messages.push(message));
  chat.on("presence", (presence) => watched.presences.push(presence));
  // After the listeners that keep what came, so that a wait sees it.
  for (const event of ["message", "presence", "ack", "open"] as const) chat.on(event, wake);
  chat.on("retry", () => {
    watched.drops++;
    wake();
  });
  return watched;
}

/** Opens the clients one after another, each once connected: leastconn puts one on each instance. */
async function clients(users: string[], room: string): Promise<Watched[]> {
  const opened: Watched[] = [];
  for (const user of users) {
    const watched = client(user);
    watched.chat.join(room);
    await watched.until(
      () => watched.presences.some((p) => p.members.includes(user)),
      `presence in ${room} with ${user} in it`,
    );
    opened.push(watched);
  }
  return opened;
}

const texts = (watched: Watched) => watched.messages.map((message) => message.text);

describeCluster()("Step 3: Faults: an instance killed, Redis restarted, a slow instance", () => {
  test("a killed instance's users drop out of presence within the ttl", async () => {
    const room = uniqueRoom("killed");
    const ada = await openPeer(cluster.instances.get("a")!.origin, "ada");
    const cy = await openPeer(cluster.instances.get("c")!.origin, "cy");
    onTestFinished(() => (ada.close(), cy.close()));
    ada.send({ type: "join", room });
    cy.send({ type: "join", room });
    await ada.next(isPresence(room, ["ada", "cy"]), "presence with ada (on a) and cy (on c)");
    const from = ada.received.length;
    await cluster.instances.get("c")!.kill();
    onTestFinished(() => cluster.restart("c"));
    // Nobody said cy left: instance c died. Its heartbeat stops, and cy's entry expires.
    await ada.next(
      isPresence(room, ["ada"]),
      `presence without cy within the ttl (${DEFAULT_PRESENCE_TTL_MS} ms) and a heartbeat`,
      { from, ms: DEFAULT_PRESENCE_TTL_MS + 3 * PATIENCE_MS },
    );
  }, 15_000);

  test("an instance killed mid-stream: its client reconnects elsewhere, and nothing is lost or doubled", async () => {
    const room = uniqueRoom("stream");
    const [ada, bob, cy] = await clients(["ada", "bob", "cy"], room);
    const total = 30;
    const sent = Array.from({ length: total }, (_, i) => `m${i + 1}`);
    // ada says the next one each time one is acknowledged: a stream, with one always in flight.
    let said = 0;
    const next = () => {
      if (said < total) ada!.chat.say(room, sent[said++]!);
    };
    ada!.chat.on("ack", next);
    next();
    await ada!.until(() => said >= 10, "10 messages acknowledged");
    await cluster.instances.get("b")!.kill();
    onTestFinished(() => cluster.restart("b"));
    for (const watched of [bob!, cy!]) {
      await watched.until(
        () => watched.messages.length >= total,
        `all ${total} of ada's messages`,
        8_000,
      );
      expect(texts(watched), `${watched.user} hears every message once, in order`).toEqual(sent);
    }
    await ada!.until(() => ada!.chat.unacknowledged === 0, "every message acknowledged");
    const dropped = [ada!, bob!, cy!].filter((w) => w.drops > 0).map((w) => w.user);
    expect(
      dropped,
      "one client per instance (leastconn): exactly the one on b lost its connection",
    ).toHaveLength(1);
  }, 20_000);

  test("a paused instance is taken out by the health check, and the others go on serving", async () => {
    const room = uniqueRoom("paused");
    const [ada, bob, cy] = await clients(["ada", "bob", "cy"], room);
    const paused = cluster.instances.get("a")!;
    paused.pause();
    onTestFinished(() => paused.resume());
    // HAProxy marks a down after its failed checks and closes its sessions (on-marked-down
    // shutdown-sessions): its client reconnects to b or c, and everyone hears everyone.
    const moved = [ada!, bob!, cy!];
    await Promise.all(
      moved.map((w) =>
        w.until(
          () => w.presences.at(-1)?.members.length === 3 && w.chat.state === "open",
          "to be connected, with all three in presence",
          6_000,
        ),
      ),
    );
    const speaker = moved[0]!;
    speaker.chat.say(room, "still here");
    for (const watched of moved.slice(1)) {
      await watched.until(
        () => texts(watched).includes("still here"),
        `"still here" from ${speaker.user}`,
        6_000,
      );
    }
    expect(
      moved.filter((w) => w.drops > 0),
      "the client on the paused instance was moved",
    ).toHaveLength(1);
  }, 20_000);

  test("Redis restarted: a say during the outage gets no ack, its connection closes with 1013, and it arrives once Redis is back", async () => {
    const room = uniqueRoom("outage");
    const [ada, bob] = await clients(["ada", "bob"], room);
    ada!.chat.say(room, "before");
    await bob!.until(() => texts(bob!).includes("before"), '"before"');
    await cluster.redis.kill();
    const drops = ada!.drops;
    ada!.chat.say(room, "during");
    await ada!.until(
      () => ada!.drops > drops,
      "its connection closed (1013 Try Again Later): the say could not be numbered",
    );
    expect(ada!.chat.unacknowledged, '"during" is not acknowledged while Redis is down').toBe(1);
    expect(texts(bob!), "nothing can be delivered without Redis").toEqual(["before"]);
    await cluster.redis.start();
    await ada!.until(
      () => ada!.chat.unacknowledged === 0,
      '"during" acknowledged once Redis is back',
      6_000,
    );
    ada!.chat.say(room, "after");
    await bob!.until(() => texts(bob!).includes("after"), '"after"', 6_000);
    expect(
      texts(bob!),
      "the instances reconnected to Redis and carried on; nothing lost or doubled",
    ).toEqual(["before", "during", "after"]);
    await bob!.until(
      () => JSON.stringify(bob!.presences.at(-1)?.members) === '["ada","bob"]',
      "presence rebuilt by the heartbeats after Redis came back empty",
      6_000,
    );
  }, 20_000);

  test("a say in flight when Redis dies fails with it: its connection closes with 1013, and it arrives once Redis is back", async () => {
    const room = uniqueRoom("inflight");
    const [ada, bob] = await clients(["ada", "bob"], room);
    const { port } = cluster.redis;
    onTestFinished(async () => {
      if (cluster.redis.running) await redisCli(port, "CLIENT", "UNPAUSE");
      else await cluster.redis.start();
    });
    // While writes are paused, Redis reads the say's script and holds it, unanswered: the
    // command is in flight, on the instance's connection, when Redis dies.
    await redisCli(port, "CLIENT", "PAUSE", "10000", "WRITE");
    const drops = ada!.drops;
    ada!.chat.say(room, "in flight");
    await untilAnswer(
      () => redisCli(port, "CLIENT", "LIST"),
      (list) => /\bflags=b\b.*\bcmd=eval(sha)?\b/.test(list),
      "the say's script held by the paused Redis (CLIENT LIST: flags=b, cmd=evalsha)",
    );
    await cluster.redis.kill();
    await ada!.until(
      () => ada!.drops > drops,
      "its connection closed (1013 Try Again Later): the command in flight failed as Redis's " +
        "connection closed. By default ioredis keeps such a command for 20 reconnection " +
        "attempts (maxRetriesPerRequest), and forgets it unanswered once one succeeds",
    );
    await cluster.redis.start();
    await ada!.until(
      () => ada!.chat.unacknowledged === 0,
      '"in flight" acknowledged once Redis is back',
      6_000,
    );
    await bob!.until(() => texts(bob!).includes("in flight"), '"in flight"', 6_000);
    expect(texts(bob!), "said once, heard once").toEqual(["in flight"]);
  }, 20_000);
});
