/**
 * The typed client (Step 3): createTRPCClient<AppRouter>, whose every call is typed by the router
 * the server runs, with no code generated and no schema file. Only the router's type crosses over
 * (`import type`): nothing of the server's code ends up in the client.
 *
 *   client.user.getUser.query({ id })  ─┐            ┌─► httpBatchLink   (batch: true, default)
 *   client.user.createUser.mutate(...)  ├─ splitLink ┤    or httpLink    (batch: false)
 *   client.feed.onMessage.subscribe(..) ┘            └─► httpSubscriptionLink: an EventSource
 *
 * A link is one stage of the client's pipeline; the last one sends the request. splitLink picks
 * a terminating link per operation: a subscription cannot go over httpBatchLink or httpLink,
 * which send one request and read one response, so it goes to an EventSource instead.
 */
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "./router.ts";
import { todo } from "#shared/todo.ts";

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every request, the event stream's included. */
  token?: string;
  /** Queries and mutations of one tick in one HTTP request (httpBatchLink). Default true. */
  batch?: boolean;
}

export type Client = TRPCClient<AppRouter>;

/** A client for the router served at `url` (`http://127.0.0.1:8111/trpc`). */
export function createClient(url: string, options: ClientOptions = {}): Client {
  // TODO: createTRPCClient<AppRouter> (from @trpc/client) whose one link is a splitLink: a
  // subscription goes to httpSubscriptionLink, whose EventSource is the eventsource package's
  // (Node 20 has none of its own; the HTML standard's "Server-sent events", §9.2), and every
  // other operation to httpBatchLink, or to httpLink when options.batch is false. With a token,
  // every request carries `Authorization: Bearer <token>` (RFC 6750 §2.1): the batch and http
  // links take `headers`; an EventSource sends no headers of its own choosing, but the eventsource
  // package's takes a `fetch` that may add them, to the first request and each reconnection.
  return todo("lesson-11-trpc", "createClient()", "Step 3");
}
