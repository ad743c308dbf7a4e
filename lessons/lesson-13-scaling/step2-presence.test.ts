import { afterAll, beforeAll, expect, onTestFinished, test } from "vitest";
import {
  createPresence,
  type Presence,
  type PresenceOptions,
} from "#lesson/lesson-13-scaling/presence.ts";
import { PATIENCE_MS, within } from "#shared/testing/patience.ts";
import { describeCluster, startRedis, type RedisProcess } from "./cluster.ts";
import { uniqueRoom } from "./chat-helpers.ts";

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function presence(instance: string, options: Partial<PresenceOptions> = {}): Presence {
  const opened = createPresence({ redisUrl: redis.url, instance, ...options });
  onTestFinished(() => opened.close());
  return opened;
}

/**
 * A presence's heartbeats as events: give `onHeartbeat` in its options, and `next()` resolves at
 * its next heartbeat. Expiry has no event of its own in Redis; a heartbeat is when the list moves.
 */
function heartbeats() {
  let wake: () => void = () => {};
  return {
    onHeartbeat: () => wake(),
    next: () => new Promise<void>((resolve) => (wake = resolve)),
  };
}

/** Resolves once `presence.list(room)` is `expected`, asking at once and after each heartbeat. */
async function listed(
  p: Presence,
  beats: ReturnType<typeof heartbeats>,
  room: string,
  expected: string[],
  ms = PATIENCE_MS,
): Promise<void> {
  let last: string[] | undefined;
  let stop = false;
  const ask = async () => {
    while (!stop) {
      const beat = beats.next();
      // While Redis is coming back, list() fails at once: ask again at the next heartbeat.
      last = await p.list(room).catch(() => last);
      if (JSON.stringify(last) === JSON.stringify(expected)) return;
      await beat;
    }
  };
  try {
    await within(
      ask(),
      () =>
        `list(${JSON.stringify(room)}) to be ${JSON.stringify(expected)} within ${ms} ms; it was ${JSON.stringify(last)}`,
      ms,
    );
  } finally {
    stop = true;
  }
}

describeCluster(["redis-server"])("Step 2: Presence that expires", () => {
  test("the users of two instances are listed together, sorted, each once", async () => {
    const room = uniqueRoom("lobby");
    const [a, b] = [presence("a"), presence("b")];
    await a.join(room, "cy");
    await b.join(room, "ada");
    await b.join(room, "cy");
    expect(await a.list(room), "cy is on both instances, and listed once").toEqual(["ada", "cy"]);
    expect(await b.list(room)).toEqual(["ada", "cy"]);
    expect(await a.list(uniqueRoom("empty")), "a room no one joined").toEqual([]);
  });

  test("leave removes a user once their last connection on that instance has left", async () => {
    const room = uniqueRoom("tabs");
    const a = presence("a");
    await a.join(room, "ada");
    await a.join(room, "ada"); // a second tab
    await a.leave(room, "ada");
    expect(await a.list(room), "one of ada's two connections is still there").toEqual(["ada"]);
    await a.leave(room, "ada");
    expect(await a.list(room)).toEqual([]);
  });

  test("a member whose heartbeat stops (its instance died) drops out within the ttl, though nobody removed it", async () => {
    const room = uniqueRoom("dead");
    const beats = heartbeats();
    const alive = presence("a", { ttlMs: 300, onHeartbeat: beats.onHeartbeat });
    // An instance that joined and then stopped beating, as a killed one does.
    const dead = presence("b", { ttlMs: 300, heartbeatMs: 60_000 });
    await alive.join(room, "ada");
    await dead.join(room, "bob");
    expect(await alive.list(room)).toEqual(["ada", "bob"]);
    const started = Date.now();
    await listed(alive, beats, room, ["ada"], 300 + PATIENCE_MS);
    expect(
      Date.now() - started,
      "bob was listed until his ttl ran out, no sooner",
    ).toBeGreaterThanOrEqual(150);
  });

  test("a live instance's members outlast the ttl: its heartbeat moves their expiry on", async () => {
    const room = uniqueRoom("alive");
    // Three ttls' worth of heartbeats (one every ttl / 4), with nothing else that would refresh
    // ada: the wait is on the heartbeats themselves, bounded.
    let beats = 0;
    let twelfth: () => void = () => {};
    const twelveBeats = new Promise<void>((resolve) => (twelfth = resolve));
    const a = presence("a", {
      ttlMs: 200,
      onHeartbeat: () => {
        if (++beats === 12) twelfth();
      },
    });
    await a.join(room, "ada");
    const started = Date.now();
    await within(
      twelveBeats,
      () => `12 heartbeats (one every 50 ms); there were ${beats}`,
      600 + PATIENCE_MS,
    );
    expect(Date.now() - started, "12 heartbeats of 50 ms: three ttls").toBeGreaterThanOrEqual(550);
    expect(await a.list(room), "ada is still there after 3 ttls").toEqual(["ada"]);
  });

  test("close() removes this instance's members at once", async () => {
    const room = uniqueRoom("closed");
    const other = presence("a");
    const closing = createPresence({ redisUrl: redis.url, instance: "b" });
    await closing.join(room, "bob");
    expect(await other.list(room)).toEqual(["bob"]);
    await closing.close();
    expect(await other.list(room), "a clean stop says goodbye: no waiting for the ttl").toEqual([]);
  });

  test("after Redis restarts empty, the heartbeats put every member back", async () => {
    const own = await startRedis();
    onTestFinished(() => own.stop());
    const room = uniqueRoom("restart");
    const beats = heartbeats();
    const a = createPresence({
      redisUrl: own.url,
      instance: "a",
      ttlMs: 400,
      onHeartbeat: beats.onHeartbeat,
    });
    onTestFinished(() => a.close());
    await a.join(room, "ada");
    await own.kill();
    await own.start();
    await listed(a, beats, room, ["ada"], 400 + 3 * PATIENCE_MS);
  }, 10_000);
});
