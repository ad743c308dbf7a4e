import { afterAll, beforeAll, expect, test } from "vitest";
import { describeCluster } from "./cluster.ts";
import { uniqueRoom } from "./chat-helpers.ts";
import { ack, client, record, startCluster, type Cluster } from "./socketio-cluster.ts";

const describe = describeCluster();

describe("Step 5: Socket.IO across instances", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(["a", "b", "c"], { roundRobin: true });
  }, 20_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("a client on instance a hears a client on instance b: the room's broadcast goes through the Redis stream, its offset a stream entry id", async () => {
    const { a, b } = cluster.instances as Record<"a" | "b", { origin: string }>;
    const [ada, bob] = await Promise.all([client(a.origin, "ada"), client(b.origin, "bob")]);
    const room = uniqueRoom("lobby");
    expect(await ack(ada, "join", room)).toEqual({ ok: true, instance: "a" });
    expect(await ack(bob, "join", room)).toEqual({ ok: true, instance: "b" });
    const toBob = record(bob, "chat");
    const toAda = record(ada, "chat");
    expect(await ack(ada, "chat", { room, id: "m1", text: "hi from a" })).toEqual({
      ok: true,
      seq: 1,
      instance: "a",
    });
    const [[message, offset]] = (await toBob.until(
      1,
      "ada's message on instance b: io.to(room).emit goes through the adapter; the default one knows only its own process's sockets",
    )) as [[unknown, unknown]];
    expect(message).toEqual({ room, id: "m1", seq: 1, from: "ada", text: "hi from a" });
    expect(
      offset,
      "the packet's last argument is its offset, the id of its entry in the Redis Stream (<ms>-<n>): connectionStateRecovery must be on",
    ).toMatch(/^\d+-\d+$/);

    expect(
      await ack(bob, "chat", { room, id: "m2", text: "hi from b" }),
      "the room's seq is the cluster's, kept in Redis: b hands out 2 after a's 1",
    ).toMatchObject({ ok: true, seq: 2 });
    await toAda.until(1, "bob's answer on instance a");
    expect(toAda.seen[0]?.[0]).toMatchObject({ id: "m2", seq: 2, from: "bob" });
    expect(
      toBob.seen.map((args) => (args[0] as { id: string }).id),
      "socket.to(room) leaves the sender out",
    ).toEqual(["m1"]);
  });

  test("a message sent again with the same id, to another instance, is acknowledged with its seq and not broadcast twice", async () => {
    const { a, b, c } = cluster.instances as Record<"a" | "b" | "c", { origin: string }>;
    const [ada, ada2, cy] = await Promise.all([
      client(a.origin, "ada"),
      client(b.origin, "ada"),
      client(c.origin, "cy"),
    ]);
    const room = uniqueRoom("lobby");
    for (const socket of [ada, ada2, cy]) await ack(socket, "join", room);
    const toCy = record(cy, "chat");
    const first = await ack(ada, "chat", { room, id: "dup", text: "once" });
    expect(
      await ack(ada2, "chat", { room, id: "dup", text: "once" }),
      "the ids a room has seen are in Redis, so that any instance spots a resend",
    ).toMatchObject({ ok: true, seq: first.seq, duplicate: true });
    await ack(ada, "chat", { room, id: "next", text: "next" });
    await toCy.until(2, "dup once, then next");
    expect(toCy.seen.map((args) => (args[0] as { id: string }).id)).toEqual(["dup", "next"]);
  });

  test("a bad event is answered with a coded error, and the connection stays", async () => {
    const ada = await client(cluster.instances.a?.origin as string, "ada");
    expect(await ack(ada, "chat", { room: "attic", id: "m1", text: "hi" })).toMatchObject({
      ok: false,
      error: { code: "SIO_NOT_IN_ROOM", field: "room" },
    });
    expect(await ack(ada, "chat", { room: "attic", id: "m1", text: 42 })).toMatchObject({
      ok: false,
      error: { code: "SIO_BAD_MESSAGE", field: "text" },
    });
    expect(await ack(ada, "join", "")).toMatchObject({
      ok: false,
      error: { code: "SIO_BAD_MESSAGE", field: "room" },
    });
    expect(ada.connected).toBe(true);
  });

  test("through HAProxy with cookie stickiness, the long-polling start and the upgrade reach one instance, and the session works", async () => {
    const ada = await client(cluster.sticky.origin, "ada");
    if (ada.io.engine.transport.name !== "websocket") {
      await new Promise<void>((resolve) => ada.io.engine.once("upgrade", () => resolve()));
    }
    expect(ada.io.engine.transport.name, "polling first, then the upgrade to a WebSocket").toBe(
      "websocket",
    );
    const room = uniqueRoom("lobby");
    const joined = await ack(ada, "join", room);
    const other = Object.values(cluster.instances).find((i) => i.name !== joined.instance);
    const bob = await client(other?.origin as string, "bob");
    await ack(bob, "join", room);
    const toBob = record(bob, "chat");
    await ack(ada, "chat", { room, id: "m1", text: "through HAProxy" });
    await toBob.until(1, "ada's message, from behind HAProxy, on another instance");
  });

  test("without stickiness, a session's second request lands on another instance, which answers 400 Session ID unknown; with the SERVERID cookie it does not", async () => {
    const plain = cluster.roundRobin?.origin as string;
    const opening = await fetch(`${plain}/socket.io/?EIO=4&transport=polling`);
    const body = await opening.text();
    expect(opening.status, `the opening GET: ${body}`).toBe(200);
    const { sid } = JSON.parse(body.slice(1)) as { sid: string };
    const first = opening.headers.get("x-instance");
    const second = await fetch(`${plain}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: "POST",
      body: '40{"name":"ada"}',
    });
    expect(second.headers.get("x-instance"), "round robin: the next instance").not.toBe(first);
    expect(second.status).toBe(400);
    expect(
      await second.json(),
      "Engine.IO's sessions live in one process: another one has never heard of this sid",
    ).toEqual({ code: 1, message: "Session ID unknown" });

    const sticky = cluster.sticky.origin;
    const opened = await fetch(`${sticky}/socket.io/?EIO=4&transport=polling`);
    const cookie = opened.headers.get("set-cookie") ?? "";
    expect(cookie, "HAProxy's cookie insert: Set-Cookie: SERVERID=<server>").toMatch(
      /^SERVERID=\w+/,
    );
    const stuck = (await opened.text()).slice(1);
    const sessionUrl = `${sticky}/socket.io/?EIO=4&transport=polling&sid=${(JSON.parse(stuck) as { sid: string }).sid}`;
    const headers = { cookie: cookie.split(";")[0] as string };
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(sessionUrl, {
        method: "POST",
        headers,
        body: i === 0 ? '40{"name":"ada"}' : "3",
      });
      expect(answer.headers.get("x-instance")).toBe(opened.headers.get("x-instance"));
      expect(answer.status).toBe(200);
      await answer.text();
    }
  });

  test("without stickiness, socket.io-client gets through with transports: ['websocket'] only: one connection is one request", async () => {
    const ada = await client(cluster.roundRobin?.origin as string, "ada", {
      transports: ["websocket"],
    });
    expect((await ack(ada, "join", uniqueRoom("lobby"))).ok).toBe(true);
  });
});
