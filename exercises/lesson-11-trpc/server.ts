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
import type { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import type { Store } from "#reference/lesson-08-rest/store.ts";
import { todo } from "#shared/todo.ts";
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

export function createServer(options: ServerOptions = {}): http.Server {
  // TODO: An http.Server on which every request first goes to options.onRequest, then: a path
  // under BASE_PATH (/trpc/<procedure>) to @trpc/server's standalone adapter (createHTTPHandler)
  // with appRouter; every other path, /trpc alone included, is 404 with a short plain-text body
  // (RFC 9110 §15.5.5). The adapter does not check the prefix it cuts off: that part is yours.
  // TODO: A context made for each request with createContext (a context made once would give one
  // caller's user to every other), over options.store (default a fresh createStore()),
  // options.feed (default a new MessageFeed) and options.tokens.
  // TODO: The adapter's onError sees every error; INTERNAL_SERVER_ERROR is a bug (a TRPCError
  // thrown on purpose is an answer): hand its cause to options.log (default console.error), with
  // the procedure's path.
  return todo("lesson-11-trpc", "createServer()", "Step 2");
}
