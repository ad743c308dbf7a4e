/**
 * What every test of lesson 08 needs: the learner's app on a port of its own, and a request that
 * reads the whole reply, turns a stub reached behind a 500 into the stub's own message, and checks
 * the reply against the API's documented contract.
 */
import http from "node:http";
import { isNotWritten, notWrittenIn } from "#shared/testing/server-log.ts";
import { listen } from "#shared/testing/net.ts";
import { within } from "#shared/testing/patience.ts";
import { createApp, type AppOptions } from "#lesson/lesson-08-rest/app.ts";
import { createStore, type Store } from "#lesson/lesson-08-rest/store.ts";
import { checkContract } from "./contract.ts";

export interface Api {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  base: string;
  store: Store;
  /** What the app logged as unexpected errors, with the ids their 500 problems named. */
  log: { error: unknown; id: string }[];
  /** Requests that reached the server (a cache in front of it answers some itself). */
  readonly requests: number;
}

/** The learner's app on 127.0.0.1 and a free port, closed when the test ends. */
export async function startApi(options: Partial<AppOptions> = {}): Promise<Api> {
  const store = options.store ?? createStore();
  const log: Api["log"] = [];
  const app = createApp({ log: (error, id) => log.push({ error, id }), ...options, store });
  let requests = 0;
  const server = http.createServer(app);
  server.on("request", () => requests++);
  const { host, port } = await listen(server);
  return {
    base: `http://${host}:${port}`,
    store,
    log,
    get requests() {
      return requests;
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
  /**
   * The request headers a failure should show, as fetch sent them: Accept, Content-Type and the
   * conditional and idempotency fields, in `Name: value` form (fetch's own defaults included).
   */
  sent?: string[];
}

/** The request headers that decide this API's answers, as a failure message shows them. */
const SHOWN_HEADERS = ["Accept", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"];

/** What fetch sends of SHOWN_HEADERS: those the test set, and fetch's own Accept and Content-Type. */
function shownHeaders(headers: Headers, body: string | undefined): string[] {
  return SHOWN_HEADERS.flatMap((name) => {
    const value = headers.get(name);
    if (value !== null) return [`${name}: ${value}`];
    // The Fetch standard's defaults: Accept */*, and a string body as text/plain.
    if (name === "Accept") return ["Accept: */* (fetch's default)"];
    if (name === "Content-Type" && body !== undefined) {
      return ["Content-Type: text/plain;charset=UTF-8 (fetch's default)"];
    }
    return [];
  });
}

export interface RequestInit {
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON, with Content-Type application/json. */
  body?: unknown;
}

/** One request with fetch, the whole reply read, bounded so a server that never answers fails. */
export async function request(
  api: Api,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<Reply> {
  const headers = new Headers(init.headers);
  let body: string | undefined;
  if (typeof init.body === "string") body = init.body;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const response = await within(
    fetch(api.base + path, { method, headers, body }),
    `an answer to ${method} ${path}`,
  );
  const text = await within(response.text(), `the whole body of the answer to ${method} ${path}`);
  const stub = api.log.map((entry) => entry.error).find(isNotWritten);
  if (stub) throw stub;
  // A stub reached in an error handler ends in express's own handler, whose page shows the error.
  const unwritten = response.status === 500 ? notWrittenIn(text) : undefined;
  if (unwritten) throw new Error(unwritten);
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const reply: Reply = {
    status: response.status,
    headers: response.headers,
    text,
    json,
    sent: shownHeaders(headers, body),
  };
  checkContract(method, path, reply);
  return reply;
}
