import { afterAll, beforeAll, expect, test } from "vitest";
import { within } from "#shared/testing/patience.ts";
import { describeCluster } from "./cluster.ts";
import { uniqueRoom, untilAnswer } from "./chat-helpers.ts";
import { ack, client, record, startCluster, type Cluster } from "./socketio-cluster.ts";

const describe = describeCluster();

/** The ids of the chat messages a client got, in order. */
function ids(seen: unknown[][]): string[] {
  return seen.map((args) => (args[0] as { id: string }).id);
}

describe("Step 5: Socket.IO across instances", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(["a", "b", "c"]);
  }, 20_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("Redis restarted: a message sent while it is down is refused with SIO_UNAVAILABLE, neither stored nor sent; once Redis is back the instances carry on and the resend is delivered once", async () => {
    const { a, b } = cluster.instances as Record<"a" | "b", { origin: string }>;
    const [ada, bob] = await Promise.all([client(a.origin, "ada"), client(b.origin, "bob")]);
    const room = uniqueRoom("lobby");
    await ack(ada, "join", room);
    await ack(bob, "join", room);
    const toBob = record(bob, "chat");
    await ack(ada, "chat", { room, id: "before", text: "before the outage" });
    await toBob.until(1, "a message before the outage");

    await cluster.redis.kill();
    const during = await ack(ada, "chat", { room, id: "during", text: "while Redis is down" });
    expect(
      during,
      "with Redis gone the room's seq cannot be taken: the ack must say so at once, not hang",
    ).toMatchObject({ ok: false, error: { code: "SIO_UNAVAILABLE" } });
    expect(ada.connected, "the Socket.IO connection does not need Redis: it stays").toBe(true);

    await cluster.redis.start();
    // The sender's part: a message refused for SIO_UNAVAILABLE is sent again, same id, until
    // Redis is back. Each try is bounded by its ack, and the next waits for it.
    let resent: Record<string, unknown> = {};
    await untilAnswer(
      async () =>
        JSON.stringify(
          (resent = await ack(ada, "chat", { room, id: "during", text: "while Redis is down" })),
        ),
      () => resent.ok === true,
      "the resend to be accepted once Redis is back: ioredis reconnects on its own",
      8_000,
    );
    expect(
      resent.seq,
      "Redis came back empty (no persistence here): the room's counter starts again at 1",
    ).toBe(1);
    await ack(ada, "chat", { room, id: "after", text: "after the outage" });
    await toBob.until(
      3,
      "the resend and one more, across instances: the adapter's stream reader and pub/sub reconnect",
      5_000,
    );
    expect(ids(toBob.seen), "the refused message once, as its resend").toEqual([
      "before",
      "during",
      "after",
    ]);
  }, 20_000);

  test("an instance killed mid-stream: its client reconnects through HAProxy to another instance and recovers every message it missed, none lost or doubled", async () => {
    // The subscriber waits a second before it reconnects, so that the messages after the kill are
    // all sent while it is away: that is what recovery is for. (One broadcast at the very moment
    // a session is restored can be missed by the adapter: the README says so.)
    const sub = await client(cluster.sticky.origin, "sub", {
      reconnection: true,
      reconnectionDelay: 1_000,
      reconnectionDelayMax: 1_000,
      randomizationFactor: 0,
    });
    const room = uniqueRoom("stream");
    const landed = String((await ack(sub, "join", room)).instance);
    const victim = cluster.instances[landed];
    const publisherOn = Object.values(cluster.instances).find((i) => i.name !== landed);
    const pub = await client(publisherOn?.origin as string, "pub");
    await ack(pub, "join", room);
    const toSub = record(sub, "chat");
    const back = new Promise<void>((resolve) => sub.once("connect", () => resolve()));

    // The publisher sends one after another, each once acknowledged; the subscriber's instance is
    // killed (SIGKILL: it closes nothing, writes nothing) once 10 have arrived, and the stream goes on.
    const total = 60;
    let killed: Promise<void> | undefined;
    for (let n = 1; n <= total; n++) {
      expect(await ack(pub, "chat", { room, id: `m${n}`, text: `#${n}` })).toMatchObject({
        ok: true,
        seq: n,
      });
      if (toSub.seen.length >= 10 && !killed) killed = victim?.kill();
    }
    await killed;
    await within(back, "sub to reconnect through HAProxy to an instance still alive", 5_000);
    await toSub.until(
      total,
      "every message: the ones sent while sub was away come from the stream after its last offset. " +
        "Socket.IO writes a session to Redis when its connection closes; a killed instance closes " +
        "nothing, so the session must be written before (on connection, on every join)",
      5_000,
    );
    expect(
      sub.recovered,
      "recovered on another instance: its session and the stream are in Redis",
    ).toBe(true);
    const seqs = toSub.seen.map((args) => (args[0] as { seq: number }).seq);
    expect(seqs, "1 to 60, each once, in order").toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const now = await ack(sub, "join", room);
    expect(now.instance, "another instance than the killed one").not.toBe(landed);
  }, 20_000);
});
