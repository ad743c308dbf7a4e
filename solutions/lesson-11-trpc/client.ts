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
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from "@trpc/client";
import { EventSource } from "eventsource";
import type { AppRouter } from "./router.ts";

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every request, the event stream's included. */
  token?: string;
  /** Queries and mutations of one tick in one HTTP request (httpBatchLink). Default true. */
  batch?: boolean;
}

export type Client = TRPCClient<AppRouter>;

/** A client for the router served at `url` (`http://127.0.0.1:8111/trpc`). */
export function createClient(url: string, options: ClientOptions = {}): Client {
  const { token, batch = true } = options;
  const authorization: Record<string, string> =
    token === undefined ? {} : { Authorization: `Bearer ${token}` };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          // Node 20 has no global EventSource: the eventsource package's follows the HTML
          // standard, reconnecting with Last-Event-ID by itself. A browser's EventSource cannot
          // send headers at all; this one takes a fetch of our own, which adds the token to each
          // of its requests, the reconnections included.
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, ...authorization } }),
          },
        }),
        false: batch
          ? httpBatchLink({ url, headers: authorization })
          : httpLink({ url, headers: authorization }),
      }),
    ],
  });
}
