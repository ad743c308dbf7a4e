/**
 * Test helpers for Step 5: the cluster (redis-server, instances a, b, c, HAProxy in front) and
 * socket.io-client sockets that are closed when the test ends. Every wait is bounded, and names
 * the event it waited for.
 */
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { onTestFinished } from "vitest";
import { spawnInstance, type InstanceProcess } from "#lesson/lesson-13-scaling/instance.ts";
import { within } from "#shared/testing/patience.ts";

export { record } from "#shared/testing/recorder.ts";
import {
  freePort,
  startHaproxy,
  startRedis,
  type HaproxyProcess,
  type RedisProcess,
} from "./cluster.ts";

export interface Cluster {
  redis: RedisProcess;
  instances: Record<string, InstanceProcess>;
  /** HAProxy with cookie stickiness: every request of one session reaches one instance. */
  sticky: HaproxyProcess;
  /** HAProxy round robin without stickiness: each request goes to the next instance. */
  roundRobin?: HaproxyProcess;
  stop(): Promise<void>;
}

/**
 * The text of a haproxy.cfg in front of `instances`. Step 3's haproxyConfig() writes the lesson's
 * own; this one is kept here so that Step 5's tests need only Step 5's code.
 */
export function socketIoHaproxyConfig(options: {
  port: number;
  instances: readonly { name: string; port: number }[];
  sticky: boolean;
}): string {
  const servers = options.instances.map(
    ({ name, port }) =>
      // check: HAProxy asks /healthz every 200 ms; one failure marks it down, one success up.
      `  server ${name} 127.0.0.1:${port} check inter 200ms fall 1 rise 1` +
      (options.sticky ? ` cookie ${name}` : ""),
  );
  return [
    "global",
    "  nbthread 1",
    "defaults",
    "  mode http",
    "  timeout connect 1s",
    "  timeout client 30s",
    "  timeout server 30s",
    // A WebSocket, once upgraded, is a tunnel: its idle timeout is this one.
    "  timeout tunnel 30s",
    // A connection refused by a dead instance is tried again on another one.
    "  retries 2",
    "  option redispatch",
    "frontend clients",
    `  bind 127.0.0.1:${options.port}`,
    "  default_backend instances",
    "backend instances",
    "  balance roundrobin",
    "  option httpchk",
    "  http-check send meth GET uri /healthz",
    // The first answer sets SERVERID=<name>; a request carrying it goes to that instance, and
    // HAProxy takes the cookie off before the instance sees it (indirect); nocache keeps shared
    // caches from storing a response that sets it.
    ...(options.sticky ? ["  cookie SERVERID insert indirect nocache"] : []),
    ...servers,
    "",
  ].join("\n");
}

/** redis-server, instances named `names`, and HAProxy in front (with a round robin one if asked). */
export async function startCluster(
  names: readonly string[],
  { roundRobin = false } = {},
): Promise<Cluster> {
  const redis = await startRedis();
  const started: InstanceProcess[] = [];
  const proxies: HaproxyProcess[] = [];
  const stop = async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(started.map((i) => i.stop()));
    await redis.stop();
  };
  try {
    for (const instance of await Promise.all(
      names.map(async (name) =>
        spawnInstance({ name, redisUrl: redis.url, port: await freePort() }),
      ),
    ))
      started.push(instance);
    const behind = started.map(({ name, port }) => ({ name, port }));
    const port = await freePort();
    const sticky = await startHaproxy(
      socketIoHaproxyConfig({ port, instances: behind, sticky: true }),
      port,
    );
    proxies.push(sticky);
    let plain: HaproxyProcess | undefined;
    if (roundRobin) {
      const other = await freePort();
      plain = await startHaproxy(
        socketIoHaproxyConfig({ port: other, instances: behind, sticky: false }),
        other,
      );
      proxies.push(plain);
    }
    return {
      redis,
      instances: Object.fromEntries(started.map((i) => [i.name, i])),
      sticky,
      roundRobin: plain,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A socket.io-client socket named `name`, connected (or failing with what Socket.IO and the
 * instance said), closed when the test ends. No automatic reconnection unless asked for.
 */
export async function client(
  url: string,
  name: string,
  options: Parameters<typeof connectClient>[1] = {},
): Promise<ClientSocket> {
  const socket = connectClient(url, {
    auth: { name },
    reconnection: false,
    forceNew: true,
    // In Node, socket.io-client keeps cookies (HAProxy's SERVERID) only when asked to.
    withCredentials: true,
    ...options,
  });
  onTestFinished(() => {
    socket.disconnect();
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (error) => {
        void whySocketIoFails(url).then((why) =>
          reject(new Error(`socket.io-client could not connect to ${url}: ${error.message}${why}`)),
        );
      });
    }),
    `${name} to connect to Socket.IO at ${url}`,
  );
  return socket;
}

/** What the instance itself answers to Engine.IO's opening request: a stub's 501 names the step. */
async function whySocketIoFails(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    if (response.status === 200) return "";
    return `. The opening GET /socket.io/?EIO=4&transport=polling was answered ${response.status}: ${await response.text()}`;
  } catch {
    return "";
  }
}

/** The acknowledgement of `event`, bounded: the server must answer it. */
export function ack(
  socket: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<Record<string, unknown>> {
  return within(
    socket.timeout(3_000).emitWithAck(event, ...args) as Promise<Record<string, unknown>>,
    `an acknowledgement of "${event}" ${JSON.stringify(args)}: the handler calls the ack callback, its last argument`,
    4_000,
  );
}
