/**
 * The server you ship: the router on node:http, through @trpc/server's standalone adapter.
 *
 *   GET  /trpc/user.getUser?input={"id":"123"}             a query: its input in the URL
 *   POST /trpc/user.createUser   {"name":..,"email":..}    a mutation: its input is the body
 *   GET  /trpc/user.getUser,user.list?batch=1&input={"0":{"id":"123"},"1":{"limit":2}}
 *                                                          two queries in one request (batching)
 *   anything else                                          404, plain text
 *
 * The adapter maps each tRPC error code to its HTTP status (NOT_FOUND 404, BAD_REQUEST 400,
 * UNAUTHORIZED 401, CONFLICT 409, a mutation by GET 405) and makes a context for every request.
 *
 * createServer() returns an unstarted server, so `npm run serve` can start it with no arguments.
 */
import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { appRouter } from "./router.ts";
import { createContext } from "./trpc.ts";

export interface ServerOptions {
  /** The data; default a fresh store with the course's data set. */
  store?: Store;
  /** The feed of Step 4; default an empty one. */
  feed?: MessageFeed;
  /** Token -> who it names; default DEFAULT_TOKENS. */
  tokens?: Readonly<Record<string, string>>;
  /** Called with every HTTP request the server receives, whatever its path: batching, counted. */
  onRequest?: (req: http.IncomingMessage) => void;
  /** Where a procedure's bug (INTERNAL_SERVER_ERROR) goes. Default console.error. */
  log?: (error: unknown, path: string | undefined) => void;
}

/** Where the router is served; a procedure's name follows it: /trpc/user.getUser. */
export const BASE_PATH = "/trpc";

function logToConsole(error: unknown, path: string | undefined): void {
  console.error(`tRPC error in ${path ?? "(no procedure)"}:`, error);
}

export function createServer(options: ServerOptions = {}): http.Server {
  const services = {
    store: options.store ?? createStore(),
    feed: options.feed ?? new MessageFeed(),
    tokens: options.tokens,
  };
  const log = options.log ?? logToConsole;
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: BASE_PATH,
    // Called for each request: a context made once would give one caller's user to every other.
    createContext: ({ req }) => createContext(req, services),
    // A TRPCError a resolver threw on purpose (NOT_FOUND, CONFLICT) is an answer; anything else
    // reaches the client as INTERNAL_SERVER_ERROR, and is a bug to log.
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") log(error.cause ?? error, path);
    },
  });

  return http.createServer((req, res) => {
    options.onRequest?.(req);
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    // The adapter cuts basePath off the front of any path without checking that it is there;
    // so the server decides what is tRPC's, and everything else is not found.
    if (path.startsWith(`${BASE_PATH}/`)) {
      trpc(req, res);
      return;
    }
    const body = `No such path: ${path}. The procedures are at ${BASE_PATH}/<name>, such as ${BASE_PATH}/user.getUser\n`;
    res.writeHead(404, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
}
