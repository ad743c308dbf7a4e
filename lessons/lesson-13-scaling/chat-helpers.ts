/**
 * Helpers for Steps 1-3: a whole cluster (redis-server, three instances, HAProxy with the
 * lesson's config), and raw WebSocket peers that speak lesson 06's chat and know which instance
 * they reached (the 101 response's X-Instance). Every wait is bounded and says what it waited for.
 */
import { spawn } from "node:child_process";
import { WebSocket } from "ws";
import type { ServerMessage } from "#reference/lesson-06-websockets/chat-protocol.ts";
import { haproxyConfig, type HaproxyOptions } from "#lesson/lesson-13-scaling/haproxy.ts";
import { spawnInstance, type InstanceProcess } from "#lesson/lesson-13-scaling/instance.ts";
import { PATIENCE_MS, within } from "#shared/testing/patience.ts";
import {
  freePort,
  startHaproxy,
  startRedis,
  type HaproxyProcess,
  type RedisProcess,
} from "./cluster.ts";

export interface Cluster {
  redis: RedisProcess;
  instances: Map<string, InstanceProcess>;
  /** HAProxy in front; throws the stub's error while haproxyConfig() is not written. */
  readonly haproxy: HaproxyProcess;
  /** Kills instance `name` (SIGKILL) and starts it again on the same port. */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** redis-server, instances a, b, c, and HAProxy with haproxyConfig(). */
export async function startCluster(
  extra: Omit<HaproxyOptions, "port" | "instances"> = {},
): Promise<Cluster> {
  const redis = await startRedis();
  const instances = new Map<string, InstanceProcess>();
  let proxy: HaproxyProcess | Error | undefined;
  const cluster: Cluster = {
    redis,
    instances,
    get haproxy() {
      if (proxy instanceof Error) throw proxy;
      return proxy as HaproxyProcess;
    },
    async restart(name) {
      const old = instances.get(name) as InstanceProcess;
      await old.kill();
      instances.set(name, await spawnInstance({ name, redisUrl: redis.url, port: old.port }));
    },
    async stop() {
      if (proxy !== undefined && !(proxy instanceof Error)) await proxy.stop();
      await Promise.all([...instances.values()].map((instance) => instance.stop()));
      await redis.stop();
    },
  };
  try {
    const started = await Promise.all(
      ["a", "b", "c"].map(async (name) =>
        spawnInstance({ name, redisUrl: redis.url, port: await freePort() }),
      ),
    );
    for (const instance of started) instances.set(instance.name, instance);
    const port = await freePort();
    let config: string | undefined;
    try {
      config = haproxyConfig({
        port,
        instances: started.map(({ name, port }) => ({ name, port })),
        ...extra,
      });
    } catch (error) {
      // The instances' tests can run before HAProxy's config is written.
      proxy = error as Error;
    }
    if (config !== undefined) proxy = await startHaproxy(config, port);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

let rooms = 0;
/** A room no other test uses. */
export function uniqueRoom(what: string): string {
  return `${what}-${process.pid}-${++rooms}`;
}

/** A raw WebSocket on the chat, with everything the server sent kept in order. */
export interface Peer {
  readonly user: string;
  /** The instance that answered the upgrade (X-Instance). */
  readonly instance: string;
  readonly received: ServerMessage[];
  send(message: object | string): void;
  /** The first message since `from` (an index into received) that `match`es. */
  next(
    match: (message: ServerMessage) => boolean,
    expected: string,
    options?: { from?: number; ms?: number },
  ): Promise<ServerMessage>;
  /** The close code once it closes. */
  readonly closed: Promise<number>;
  close(): void;
}

/**
 * Opens `/chat` on `origin` (an instance, or HAProxy) as `user` (token `<user>-token`). Rejects
 * with the HTTP status and body when the upgrade is refused: a stub's 501 names the function.
 */
export async function openPeer(origin: string, user: string): Promise<Peer> {
  const url = `${origin.replace(/^http/, "ws")}/chat?access_token=${user}-token`;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const received: ServerMessage[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (data) => {
    received.push(JSON.parse(data.toString()) as ServerMessage);
    for (const waiter of [...waiters]) waiter();
  });
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  // Listened for now: "open" follows "upgrade" at once.
  const opened = new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  opened.catch(() => {});
  const instance = await within(
    new Promise<string>((resolve, reject) => {
      socket.once("upgrade", (response) => resolve(String(response.headers["x-instance"])));
      socket.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () =>
          reject(
            new Error(
              `GET ${url} with Upgrade: websocket got ${response.statusCode}, not 101: ${body.trim()}`,
            ),
          ),
        );
      });
      socket.once("error", reject);
    }),
    `a 101 Switching Protocols from ${url}`,
  );
  await within(opened, `the WebSocket on ${url} to open`);
  return {
    user,
    instance,
    received,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    next(match, expected, { from = 0, ms = PATIENCE_MS } = {}) {
      let check = () => {};
      const found = new Promise<ServerMessage>((resolve) => {
        check = () => {
          const message = received.slice(from).find(match);
          if (message !== undefined) resolve(message);
        };
        waiters.add(check);
        check();
      });
      return within(
        found,
        () =>
          `Nothing after ${ms} ms. ${user} (on instance ${instance}) expected ${expected}; it received:\n` +
          received.map((message) => `  ${JSON.stringify(message)}`).join("\n"),
        ms,
      ).finally(() => waiters.delete(check));
    },
    closed,
    close: () => socket.close(),
  };
}

/** Runs redis-cli against `port` with `args`; resolves with what it printed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const child = spawn("redis-cli", ["-p", String(port), ...args]);
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await within(
    new Promise((resolve) => child.on("close", resolve)),
    `redis-cli ${args.join(" ")} to finish`,
  );
  return out;
}

/**
 * Runs `probe` again, each time once it has answered, until `done(answer)`: for what has no event
 * to wait on, such as Redis's own view of its clients or another process's reconnection. Each
 * probe is a round trip (redis-cli, a request), so the loop leaves the event loop free between
 * tries. Fails after `ms` with the last answer.
 */
export async function untilAnswer(
  probe: () => Promise<string>,
  done: (answer: string) => boolean,
  expected: string,
  ms = PATIENCE_MS,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await probe();
    if (done(answer)) return;
    if (Date.now() > deadline)
      throw new Error(`Nothing after ${ms} ms. Expected ${expected}; the last answer:\n${answer}`);
  }
}

export const isPresence = (room: string, members: string[]) => (message: ServerMessage) =>
  message.type === "presence" &&
  message.room === room &&
  JSON.stringify(message.members) === JSON.stringify(members);
