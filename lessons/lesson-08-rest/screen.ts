/**
 * The screen the course measures, over REST: "user 123 with the last five orders and their
 * reviews". A client of this API needs three representations for it:
 *
 *   GET /users/123                  the name and email
 *   GET /users/123/orders?last=5    the last five orders, each with its items
 *   GET /users/123/reviews          the reviews
 *
 * measureRestScreen() loads the screen again and again against an app of its own and counts, at
 * the server's sockets (shared/bench/wire.ts), the requests, connections and bytes one load
 * costs, and the store queries behind it. Lesson 08's bench prints its rows; lesson 09's puts them
 * beside the same screen over GraphQL. The app is a parameter, so that each bench chooses whose
 * code it measures.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import type express from "express";
import { since, startMetered, type WireCount } from "../../shared/bench/wire.ts";
import type { Store } from "#lesson/lesson-08-rest/store.ts";

export const SCREEN_PATHS = ["/users/123", "/users/123/orders?last=5", "/users/123/reviews"];

export interface ScreenOptions {
  /** The row's name. */
  name: string;
  /** Makes the app under test over a fresh store (lesson 08's createApp, the learner's or the reference's). */
  createApp: (store: Store) => express.Express;
  createStore: () => Store;
  /** One connection kept open across requests (HTTP/1.1's default), or a new one per request. */
  keepAlive: boolean;
  /** The three GETs at once (a browser does; each then needs its own connection) or one by one. */
  parallel: boolean;
  /** A repeated visit: each GET sends the ETag it got before in If-None-Match, and gets a 304. */
  revalidate: boolean;
  /** How many loads to average over (the counts are the same on every load; the time is not). */
  loads?: number;
}

export interface ScreenResult extends WireCount {
  name: string;
  /** The JSON the screen received: the response bodies, without their heads. */
  bodyBytes: number;
  /** Store queries run for one load of the screen. */
  queries: number;
  /** The median time one load took, ms. */
  medianMs: number;
}

interface Got {
  status: number;
  etag: string | undefined;
  body: Buffer;
}

/** One GET with node:http, the whole body read. */
function get(origin: string, path: string, agent: http.Agent, ifNoneMatch?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (ifNoneMatch !== undefined) headers["If-None-Match"] = ifNoneMatch;
    const req = http.get(`${origin}${path}`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        if (status !== 200 && status !== 304) {
          reject(
            new Error(`GET ${path} answered ${status}: ${body.toString("utf8").slice(0, 200)}`),
          );
          return;
        }
        resolve({ status, etag: res.headers.etag, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** Loads the screen `loads` times against a server of its own; one load's figures. */
export async function measureRestScreen(options: ScreenOptions): Promise<ScreenResult> {
  const loads = options.loads ?? 101;
  const store = options.createStore();
  const server = await startMetered(http.createServer(options.createApp(store)));
  try {
    // The ETags a returning client holds: from one load before the measured ones, not counted.
    const etags = new Map<string, string | undefined>();
    if (options.revalidate) {
      const agent = new http.Agent({ keepAlive: options.keepAlive });
      for (const path of SCREEN_PATHS)
        etags.set(path, (await get(server.origin, path, agent)).etag);
      agent.destroy();
    }

    const before = server.read();
    store.resetQueries();
    let bodyBytes = 0;
    const times: number[] = [];
    for (let load = 0; load < loads; load++) {
      // A new agent per load: each load is a client that starts without an open connection.
      const agent = new http.Agent({ keepAlive: options.keepAlive });
      const started = performance.now();
      const fetchOne = (path: string): Promise<Got> =>
        get(server.origin, path, agent, etags.get(path));
      let replies: Got[];
      if (options.parallel) replies = await Promise.all(SCREEN_PATHS.map(fetchOne));
      else {
        replies = [];
        for (const path of SCREEN_PATHS) replies.push(await fetchOne(path));
      }
      times.push(performance.now() - started);
      agent.destroy();
      bodyBytes += replies.reduce((sum, reply) => sum + reply.body.length, 0);
    }
    const used = since(server.read(), before);
    times.sort((a, b) => a - b);
    return {
      name: options.name,
      connections: used.connections / loads,
      requests: used.requests / loads,
      bytesIn: used.bytesIn / loads,
      bytesOut: used.bytesOut / loads,
      bodyBytes: bodyBytes / loads,
      queries: store.queryCount / loads,
      medianMs: times[Math.floor(times.length / 2)] ?? Number.NaN,
    };
  } finally {
    await server.close();
  }
}
