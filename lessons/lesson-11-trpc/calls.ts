/**
 * Test helpers for Steps 1 and 2: your router called server-side through createCallerFactory
 * (no HTTP), and your server on 127.0.0.1:0, counting the requests it receives and keeping what it
 * logged as bugs, until the test ends.
 */
import type http from "node:http";
import { TRPCError } from "@trpc/server";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { appRouter } from "#lesson/lesson-11-trpc/router.ts";
import { createServer, type ServerOptions } from "#lesson/lesson-11-trpc/server.ts";
import { createCallerFactory, createContext } from "#lesson/lesson-11-trpc/trpc.ts";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { isNotWritten } from "../../shared/testing/server-log.ts";

export const TOKEN = "demo-token";

/** A stub reached below tRPC (a resolver, the middleware) is the cause of its TRPCError. */
export function unwrapStub(error: unknown): unknown {
  if (error instanceof TRPCError && isNotWritten(error.cause)) return error.cause;
  return error;
}

/** Server-side calls of appRouter: each takes the context it runs with. */
const createCaller = createCallerFactory(appRouter);

export interface Called {
  caller: ReturnType<typeof createCaller>;
  store: Store;
}

/**
 * appRouter called server-side, with the context createContext makes of a request with these
 * headers (an Authorization of `Bearer demo-token` unless `authorization` says otherwise; null
 * sends none).
 */
export function callerFor(
  options: { authorization?: string | null; store?: Store; tokens?: Record<string, string> } = {},
): Called {
  const store = options.store ?? createStore();
  const authorization =
    options.authorization === undefined ? `Bearer ${TOKEN}` : options.authorization;
  const headers: http.IncomingHttpHeaders =
    authorization === null ? {} : { authorization: authorization };
  const ctx = createContext(
    { headers },
    { store, feed: new MessageFeed(), ...(options.tokens ? { tokens: options.tokens } : {}) },
  );
  const caller = createCaller(ctx);
  return { caller, store };
}

/** What a call resolved to; a stub it reached fails the test with the stub's own message. */
export async function outcome<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await within(call(), "the procedure's answer");
  } catch (error) {
    throw unwrapStub(error);
  }
}

/**
 * The TRPCError a call rejected with. A call that resolved fails the test, showing what it
 * resolved to; `expected` says what the rejection should have been, in the protocol's terms.
 */
export async function rejection(
  call: () => Promise<unknown>,
  expected: string,
): Promise<TRPCError> {
  let value: unknown;
  try {
    value = await within(call(), `a rejection: ${expected}`);
  } catch (error) {
    const unwrapped = unwrapStub(error);
    if (unwrapped !== error || !(error instanceof TRPCError)) throw unwrapped;
    return error;
  }
  throw new Error(
    `Expected ${expected}, but the call resolved to ${show(JSON.stringify(value) ?? "undefined", 300)}`,
  );
}

export interface Served {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** http://127.0.0.1:PORT/trpc */
  url: string;
  store: Store;
  /** Every HTTP request the server received, in order, as onRequest saw it. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** What the server logged as a procedure's bug. */
  log: unknown[];
  /** The procedure's path the server logged with each bug, in the same order. */
  logPaths: (string | undefined)[];
  /** Throws the stub's error if the server reached one (and answered 500). */
  rethrowStub(): void;
}

/** Your createServer() on 127.0.0.1 and a free port, closed when the test ends. */
export async function serve(options: ServerOptions = {}): Promise<Served> {
  const store = options.store ?? createStore();
  const requests: Served["requests"] = [];
  const log: unknown[] = [];
  const logPaths: (string | undefined)[] = [];
  const server = createServer({
    onRequest: (req) =>
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers }),
    log: (error, path) => {
      log.push(error);
      logPaths.push(path);
    },
    ...options,
    store,
  });
  const { host, port } = await listen(server);
  const origin = `http://${host}:${port}`;
  const rethrowStub = (): void => {
    const stub = log.find(isNotWritten);
    if (stub !== undefined) throw stub;
  };
  return { origin, url: `${origin}/trpc`, store, requests, log, logPaths, rethrowStub };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined if it is not JSON. */
  json: unknown;
  /** The request and the response, for a failure message. */
  shown: string;
}

/** One request with fetch, bounded; a stub the server reached fails the test by its name. */
export async function ask(served: Served, path: string, init: RequestInit = {}): Promise<Reply> {
  const method = init.method ?? "GET";
  const sent = `${method} ${decodeURIComponent(path)}${
    typeof init.body === "string" ? ` ${show(init.body, 200)}` : ""
  }`;
  const reply = await within(
    (async () => {
      const response = await fetch(`${served.origin}${path}`, init);
      return { response, text: await response.text() };
    })(),
    `an answer to ${sent}`,
  );
  served.rethrowStub();
  let json: unknown;
  try {
    json = JSON.parse(reply.text);
  } catch {
    // Not JSON: `text` says what it was.
  }
  const { response, text } = reply;
  return {
    status: response.status,
    headers: response.headers,
    text,
    json,
    shown: `\n  sent:     ${sent}\n  received: ${response.status} ${show(text, 400)}`,
  };
}

/** `?input=...` of a query: the input as JSON, percent-encoded. */
export function inputQuery(input: unknown): string {
  return `input=${encodeURIComponent(JSON.stringify(input))}`;
}
