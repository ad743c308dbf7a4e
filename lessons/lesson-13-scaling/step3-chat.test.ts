import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, onTestFinished, test } from "vitest";
import { haproxyConfig } from "#lesson/lesson-13-scaling/haproxy.ts";
import { describeCluster, freePort, haproxyCommand } from "./cluster.ts";
import {
  isPresence,
  openPeer,
  startCluster,
  uniqueRoom,
  type Cluster,
  type Peer,
} from "./chat-helpers.ts";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
}, 20_000);
afterAll(async () => {
  await cluster?.stop();
});

/** A peer straight on instance `name`, closed when the test ends. */
async function on(name: string, user: string): Promise<Peer> {
  const peer = await openPeer(cluster.instances.get(name)!.origin, user);
  onTestFinished(() => peer.close());
  expect(peer.instance, `a client of instance ${name}'s own port is served by ${name}`).toBe(name);
  return peer;
}

async function joined(peer: Peer, room: string, members: string[], after?: number): Promise<void> {
  peer.send({ type: "join", room, ...(after === undefined ? {} : { after }) });
  await peer.next(isPresence(room, members), `presence in ${room} listing ${members.join(", ")}`);
}

describeCluster()("Step 3: The chat across instances, behind HAProxy", () => {
  test("ada on instance a hears what bob says on instance b, and bob gets his ack", async () => {
    const room = uniqueRoom("lobby");
    const ada = await on("a", "ada");
    const bob = await on("b", "bob");
    await joined(ada, room, ["ada"]);
    await joined(bob, room, ["ada", "bob"]);
    bob.send({ type: "say", room, client: "bob-1", seq: 1, text: "héllo from b ✓" });
    await bob.next(
      (m) => m.type === "ack" && m.seq === 1,
      '{"type":"ack","client":"bob-1","seq":1}',
    );
    const heard = await ada.next(
      (m) => m.type === "message",
      "bob's message, through Redis pub/sub",
    );
    expect(heard).toMatchObject({
      type: "message",
      room,
      from: "bob",
      client: "bob-1",
      seq: 1,
      text: "héllo from b ✓",
    });
  });

  test("presence lists the users of every instance, sorted, each once", async () => {
    const room = uniqueRoom("presence");
    const cy = await on("c", "cy");
    const ada = await on("a", "ada");
    const bob = await on("b", "bob");
    await joined(cy, room, ["cy"]);
    await joined(ada, room, ["ada", "cy"]);
    await joined(bob, room, ["ada", "bob", "cy"]);
    await cy.next(
      isPresence(room, ["ada", "bob", "cy"]),
      "presence with ada (on a) and bob (on b) too",
    );
    const ada2 = await on("b", "ada");
    await joined(ada2, room, ["ada", "bob", "cy"]);
  });

  test("a say resent on another instance after a reconnection is acknowledged again, not shown twice", async () => {
    const room = uniqueRoom("resend");
    const bob = await on("c", "bob");
    await joined(bob, room, ["bob"]);
    const first = await on("a", "ada");
    await joined(first, room, ["ada", "bob"]);
    const say = { type: "say", room, client: "ada-phone", seq: 1, text: "once" };
    first.send(say);
    await first.next((m) => m.type === "ack", "the ack of seq 1");
    first.close();
    const again = await on("b", "ada");
    await joined(again, room, ["ada", "bob"]);
    again.send(say);
    await again.next(
      (m) => m.type === "ack" && m.seq === 1,
      "seq 1 acknowledged again: the client would resend it for ever otherwise",
    );
    again.send({ ...say, seq: 2, text: "twice?" });
    await bob.next((m) => m.type === "message" && m.seq === 2, "ada's seq 2");
    const texts = bob.received.flatMap((m) => (m.type === "message" ? [m.text] : []));
    expect(
      texts,
      "(client, seq) already said, on any instance, is dropped (SET NX in Redis)",
    ).toEqual(["once", "twice?"]);
  });

  test("a join with after gets what was said since, from another instance, in order", async () => {
    const room = uniqueRoom("history");
    const ada = await on("a", "ada");
    await joined(ada, room, ["ada"]);
    for (let seq = 1; seq <= 3; seq++)
      ada.send({ type: "say", room, client: "ada-h", seq, text: `m${seq}` });
    await ada.next((m) => m.type === "ack" && m.seq === 3, "the ack of seq 3");
    const first = await ada.next(
      (m) => m.type === "message" && m.seq === 1,
      "ada's own m1, which gives its room id",
    );
    const bob = await on("c", "bob");
    bob.send({ type: "join", room, after: (first as { id: number }).id });
    const m3 = await bob.next(
      (m) => m.type === "message" && m.seq === 3,
      "m2 and m3 from the room's history in Redis",
    );
    const texts = bob.received.flatMap((m) => (m.type === "message" ? [m.text] : []));
    expect(texts, "after = m1's id: the messages after it, in id order").toEqual(["m2", "m3"]);
    expect((m3 as { id: number }).id).toBeGreaterThan((first as { id: number }).id);
  });

  test("text that is not JSON gets CHAT_BAD_JSON, and the connection goes on (lesson 06's protocol)", async () => {
    const room = uniqueRoom("bad");
    const ada = await on("b", "ada");
    ada.send("not json");
    await ada.next(
      (m) => m.type === "error" && m.code === "CHAT_BAD_JSON",
      "an error with code CHAT_BAD_JSON",
    );
    await joined(ada, room, ["ada"]);
  });

  test("an upgrade without a valid access_token is refused with 401", async () => {
    const origin = cluster.instances.get("a")!.origin;
    const refused = await openPeer(origin, "Not A User").then(
      () => "101",
      (error: Error) => error.message,
    );
    expect(refused, "the token is checked before the upgrade, as in lesson 06").toMatch(/ 401,/);
  });

  test("through HAProxy, three clients that stay connected land on three instances", async () => {
    const proxy = cluster.haproxy;
    const seen: string[] = [];
    for (const user of ["ada", "bob", "cy"]) {
      const peer = await openPeer(proxy.origin, user);
      onTestFinished(() => peer.close());
      seen.push(peer.instance);
    }
    expect(
      seen.sort(),
      "each new WebSocket goes to the instance with the fewest open (leastconn)",
    ).toEqual(["a", "b", "c"]);
  });

  test("haproxyConfig() is a config HAProxy accepts: health checks, redispatch, a tunnel timeout", async () => {
    // `haproxy -c` only reads the config, but its ports are free ones all the same.
    const instances = [
      { name: "a", port: await freePort() },
      { name: "b", port: await freePort() },
    ];
    const port = await freePort();
    for (const sticky of [false, true]) {
      const config = haproxyConfig({ port, instances, sticky });
      const dir = mkdtempSync(path.join(os.tmpdir(), "lesson-13-cfg-"));
      writeFileSync(path.join(dir, "haproxy.cfg"), config);
      let verdict = "valid";
      try {
        execFileSync(haproxyCommand() ?? "haproxy", ["-c", "-f", path.join(dir, "haproxy.cfg")], {
          stdio: "pipe",
        });
      } catch (error) {
        verdict = String((error as { stderr?: Buffer }).stderr ?? error);
      }
      expect(verdict, `haproxy -c on:\n${config}`).toBe("valid");
      expect(config).toMatch(/^\s*mode http\b/m);
      expect(config).toMatch(/^\s*balance (leastconn|roundrobin)\b/m);
      expect(config, "the health check asks GET /healthz").toMatch(
        /^\s*option httpchk\b.*\/healthz/m,
      );
      expect(config, "a failed connection is tried on another instance").toMatch(
        /^\s*option redispatch\b/m,
      );
      expect(config).toMatch(/^\s*retries \d+/m);
      expect(config, "an open WebSocket is a tunnel, idle for long").toMatch(
        /^\s*timeout tunnel \S+/m,
      );
      expect(config, "each instance named, on its port, checked").toMatch(
        new RegExp(`server a 127\\.0\\.0\\.1:${instances[0]?.port}\\b`),
      );
      if (sticky) {
        expect(config, "sticky: a cookie naming the instance").toMatch(/^\s*cookie \w+ insert\b/m);
        expect(config).toMatch(
          new RegExp(`server b 127\\.0\\.0\\.1:${instances[1]?.port}\\b.*\\bcookie b\\b`),
        );
      } else expect(config).not.toMatch(/^\s*cookie /m);
    }
  });
});
