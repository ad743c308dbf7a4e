/**
 * Test helpers for GraphQL over HTTP (Steps 3 and 4): an http.Server around your handler and
 * your schema, listening on 127.0.0.1:0 until the test ends and counting every request that
 * reached it, and one request with fetch that keeps what came back.
 */
import http from "node:http";
import { onTestFinished } from "vitest";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { createGraphQLHandler, type HandlerOptions } from "#lesson/lesson-09-graphql/handler.ts";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { loggedStub, watchServerLog } from "../../shared/testing/server-log.ts";
import { schema } from "./schema-helpers.ts";

export { serverLog } from "../../shared/testing/server-log.ts";

/** What reached the server: one entry per request, in order. */
export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface Started {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  store: Store;
  server: http.Server;
  /** Every request the server received, whatever the handler made of it. */
  requests: Seen[];
}

/**
 * createGraphQLHandler over createSchema() and a fresh store, mounted at /graphql (anything else
 * is 404). The schema is built once and shared, as a server builds it once when it starts: what
 * differs between requests is in the context. What the handler throws is logged and answered
 * 500, as a server in production would: a stub reached that way fails the test with its own
 * message (rethrowStub).
 */
export async function startGraphQL(options: Partial<HandlerOptions> = {}): Promise<Started> {
  watchServerLog();
  const store = createStore();
  const handler = createGraphQLHandler({
    schema: schema(),
    context: () => ({ store }),
    ...options,
  });
  const requests: Seen[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (new URL(req.url ?? "/", "http://test").pathname !== "/graphql") {
      res.writeHead(404).end();
      return;
    }
    try {
      handler(req, res);
    } catch (error) {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  const { host, port } = await listen(server);
  return { url: `http://${host}:${port}/graphql`, store, server, requests };
}

/** A 500 because the server reached an unwritten stub: fail with the stub's own message. */
export function rethrowStub(status?: number): void {
  const stub = status === undefined || status === 500 ? loggedStub() : undefined;
  if (stub !== undefined) throw stub;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The body as it came, decoded as UTF-8. */
  text: string;
  /** The body as JSON, or undefined if it is not JSON. */
  json: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  /** The request and the response in one line each, for a failure message. */
  shown: string;
}

export interface Ask {
  method?: "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS";
  /** GET: set as the query string's parameters (variables and extensions as JSON). */
  params?: { query?: string; operationName?: string; variables?: unknown; extensions?: unknown };
  /** POST: the body as it is sent. A value that is not a string is sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One request with fetch, bounded: a GET with `params` in the URL, or a POST with `body` and
 * Content-Type: application/json unless `headers` say otherwise.
 */
export async function ask(url: string, request: Ask): Promise<Reply> {
  const method = request.method ?? (request.body === undefined ? "GET" : "POST");
  const target = new URL(url);
  for (const [name, value] of Object.entries(request.params ?? {})) {
    if (value !== undefined)
      target.searchParams.set(name, typeof value === "string" ? value : JSON.stringify(value));
  }
  const headers: Record<string, string> = {
    ...(method === "POST" ? { "Content-Type": "application/json" } : {}),
    ...request.headers,
  };
  const body =
    request.body === undefined || typeof request.body === "string"
      ? (request.body as string | undefined)
      : JSON.stringify(request.body);
  const controller = new AbortController();
  onTestFinished(() => controller.abort());
  const sent = `${method} ${target.pathname}${target.search} ${JSON.stringify(headers)}${
    body === undefined ? "" : ` ${show(body, 200)}`
  }`;
  const response = await within(
    fetch(target, { method, headers, body, signal: controller.signal }),
    `an answer to ${sent}`,
  );
  rethrowStub(response.status);
  const text = await within(response.text(), `the body of the answer to ${sent}`);
  let json: Reply["json"] = {};
  try {
    json = JSON.parse(text) as Reply["json"];
  } catch {
    // Not JSON: `text` says what it was.
  }
  const head = [...response.headers].map(([name, value]) => `${name}: ${value}`).join(", ");
  const shown = `\n  sent:     ${sent}\n  received: ${response.status} {${head}} ${show(text, 300)}`;
  return { status: response.status, headers: response.headers, text, json, shown };
}

/** The media type of a Content-Type, without its parameters, in lower case. */
export function mediaTypeOf(contentType: string | null): string | null {
  return contentType?.split(";")[0]?.trim().toLowerCase() ?? null;
}

export const GRAPHQL_RESPONSE = "application/graphql-response+json";
export const JSON_TYPE = "application/json";
