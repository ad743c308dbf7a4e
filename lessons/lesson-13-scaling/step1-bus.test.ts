import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, onTestFinished, test } from "vitest";
import { createBus, type Bus } from "#lesson/lesson-13-scaling/bus.ts";
import { within } from "#shared/testing/patience.ts";
import { describeCluster, startRedis, type RedisProcess } from "./cluster.ts";
import { redisCli, uniqueRoom, untilAnswer } from "./chat-helpers.ts";

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function bus(url = redis.url): Bus {
  const opened = createBus({ redisUrl: url });
  onTestFinished(() => opened.close());
  return opened;
}

/** The next message `subscribe` delivers on `channel`. */
async function nextOn(b: Bus, channel: string): Promise<() => Promise<string>> {
  const got: string[] = [];
  let wake = () => {};
  await b.subscribe(channel, (message) => {
    got.push(message);
    wake();
  });
  return () =>
    within(
      new Promise<string>((resolve) => {
        // One message per call: once it has taken its message, a later one waits in `got`.
        wake = () => {
          wake = () => {};
          resolve(got.shift() as string);
        };
        if (got.length > 0) wake();
      }),
      `a message on ${channel}, delivered to the subscribe() listener`,
    );
}

describeCluster(["redis-server", "redis-cli"])("Step 1: A bus over Redis pub/sub", () => {
  test("redis-cli PUBLISH reaches a bus subscriber, and Redis counts it as one receiver", async () => {
    const channel = uniqueRoom("cli-in");
    const next = await nextOn(bus(), channel);
    const receivers = await redisCli(redis.port, "PUBLISH", channel, "hello from redis-cli");
    expect(receivers.trim(), "PUBLISH replies with the number of subscribers that got it").toBe(
      "1",
    );
    expect(await next()).toBe("hello from redis-cli");
  });

  test("a bus publish reaches redis-cli SUBSCRIBE, byte for byte", async () => {
    const channel = uniqueRoom("cli-out");
    const child = spawn("redis-cli", ["-p", String(redis.port), "SUBSCRIBE", channel]);
    onTestFinished(() => void child.kill());
    let out = "";
    const printed = (text: string) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => out.includes(text) && resolve();
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            check();
          });
          check();
        }),
        () =>
          `redis-cli SUBSCRIBE ${channel} to print ${JSON.stringify(text)}; it printed ${JSON.stringify(out)}`,
      );
    await printed("subscribe");
    await bus().publish(channel, "héllo ✓");
    await printed(`message\n${channel}\nhéllo ✓`);
  });

  test("one bus subscribes and then publishes: a second connection does the publishing", async () => {
    const channel = uniqueRoom("self");
    const one = bus();
    const next = await nextOn(one, channel);
    // On one connection this PUBLISH would be refused: the connection is in the subscribed state.
    await one.publish(channel, "to myself too");
    expect(await next(), "an instance hears what it published itself").toBe("to myself too");
  });

  test("what one bus publishes reaches the subscribers of every other, in order", async () => {
    const channel = uniqueRoom("many");
    const [a, b, c] = [bus(), bus(), bus()];
    const nextB = await nextOn(b!, channel);
    const nextC = await nextOn(c!, channel);
    for (const text of ["1", "2", "3"]) await a!.publish(channel, text);
    for (const next of [nextB, nextC])
      expect([await next(), await next(), await next()]).toEqual(["1", "2", "3"]);
  });

  test("while Redis is down, publish fails at once instead of waiting; after it restarts, subscribers hear again", async () => {
    const own = await startRedis();
    onTestFinished(() => own.stop());
    const channel = uniqueRoom("restart");
    const [pub, sub] = [bus(own.url), bus(own.url)];
    const next = await nextOn(sub, channel);
    await own.kill();
    const outcome = await within(
      pub.publish(channel, "into the void").then(
        () => "published",
        (error: Error) => `rejected: ${error.message}`,
      ),
      "publish() to settle while Redis is down: it must not wait in a queue",
    );
    expect(outcome, "at most once: nothing is queued while Redis is away").toMatch(/^rejected/);
    await own.start();
    // ioredis reconnects and subscribes again by itself; until then a publish reaches no one.
    await untilAnswer(
      async () => {
        const published = await pub.publish(channel, "back").then(
          () => "published",
          (error: Error) => `publish rejected: ${error.message}`,
        );
        return `${published}\n${await redisCli(own.port, "PUBSUB", "NUMSUB", channel)}`;
      },
      (answer) => answer.startsWith("published") && /\n1\s*$/.test(answer),
      "publish() to work again and the subscriber to be subscribed again (PUBSUB NUMSUB: 1)",
      5_000,
    );
    await pub.publish(channel, "back again");
    expect(await next(), "the subscriber is subscribed again after Redis came back").toMatch(
      /^back/,
    );
  }, 10_000);
});
