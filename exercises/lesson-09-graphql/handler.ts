/**
 * GraphQL over HTTP, by the GraphQL-over-HTTP spec (graphql.github.io/graphql-over-http/draft),
 * written by hand on node:http. One endpoint, two ways in:
 *
 *   POST /graphql                                  GET /graphql?query=%7Buser(id%3A%22123%22)%7Bname%7D%7D
 *   Content-Type: application/json                 Accept: application/graphql-response+json
 *   Accept: application/graphql-response+json
 *                                                  (queries only: a GET must be safe, so a
 *   {"query":"query($id: ID!) { user(id: $id)      mutation by GET is 405 with Allow: POST)
 *   { name } }","variables":{"id":"123"}}
 *
 * and one pipeline for both:
 *
 *   negotiate the response's media type (Accept)   406 when it allows neither
 *   read the request's parameters                  415, 413 or 400 when they cannot be read
 *   parse, validate                                a request error: 400, or 200 for a legacy client
 *   execute                                        200, with data, and errors if a field failed
 *
 * A GET query that succeeds is a representation like any other: it gets a strong ETag from its
 * bytes and a Cache-Control, and If-None-Match is answered 304 (RFC 9110 §13.1.2, RFC 9111 §5.2).
 *
 * GraphQLHttpError, HANDLER_DEFAULTS and CACHE_CONTROL are given; the functions are yours.
 */
import type http from "node:http";
import type { GraphQLError, GraphQLSchema, ValidationRule } from "graphql";
import { todo } from "#shared/todo.ts";
import type { GraphQLContext } from "./schema.ts";

export interface HandlerOptions {
  schema: GraphQLSchema;
  /** A new context per request (new loaders each time). */
  context: (req: http.IncomingMessage) => GraphQLContext;
  /** Extra validation rules (Step 5's limits, NoSchemaIntrospectionCustomRule). */
  validationRules?: readonly ValidationRule[];
  /** graphql-js parse({ maxTokens }): a document with more tokens is refused before it is parsed. */
  maxTokens?: number;
  /** Largest request body, bytes (413 past it). */
  maxBodyBytes?: number;
  /** Called on every error of an execution result; returns what the client sees (Step 5 masks). Default: as it is. */
  formatError?: (error: GraphQLError) => GraphQLError;
}

export const HANDLER_DEFAULTS = {
  /** A large query with its variables is a few kilobytes; 100 KiB leaves room and caps the rest. */
  maxBodyBytes: 100 * 1024,
} satisfies Required<Pick<HandlerOptions, "maxBodyBytes">>;

/** The two media types a GraphQL response is sent as (GraphQL over HTTP, "Media Types"). */
export type ResponseMediaType = "application/graphql-response+json" | "application/json";

/** What each kind of response may be cached for (RFC 9111 §5.2.2). */
export const CACHE_CONTROL = {
  /**
   * A GET query answered without errors: fresh for a minute in any cache. Not `public`: a shared
   * cache then keeps no response to a request with Authorization (RFC 9111 §3.5). Data that
   * differs per user would say `private`, and only the browser's own cache would keep it.
   */
  query: "max-age=60",
  /** Everything else: POST (mutations and queries alike), errors, refusals. */
  none: "no-store",
} as const;

/**
 * The request parameters (GraphQL over HTTP, "Request Parameters"): the same four whether they
 * came in a JSON body or in the URL's query string.
 */
export interface GraphQLParams {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/**
 * A request the handler refuses before any GraphQL runs, with the HTTP status that says why.
 * `code` is stable; `message` names the bad value and goes to the client in `errors[0]`.
 */
export class GraphQLHttpError extends Error {
  readonly code:
    | "GQL_METHOD_NOT_ALLOWED"
    | "GQL_NOT_ACCEPTABLE"
    | "GQL_UNSUPPORTED_MEDIA_TYPE"
    | "GQL_BODY_TOO_LARGE"
    | "GQL_BAD_REQUEST";
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    code: GraphQLHttpError["code"],
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GraphQLHttpError";
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** The handler for one endpoint: give it every request to /graphql. */
export function createGraphQLHandler(
  options: HandlerOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  // TODO: The handler works on each request in turn; what it throws (a bug, a resolver's error
  // that escaped graphql-js) is logged with console.error and answered 500 with one error that
  // says "Internal server error" and nothing more: its message may hold anything.
  // TODO: GET and POST only; any other method is 405 with Allow: GET, POST (RFC 9110 §15.5.6).
  // TODO: The response's media type from Accept (negotiate(), below); neither type acceptable:
  // 406 (GraphQL over HTTP, "Accept"). Every response says its type with charset=utf-8.
  // TODO: The parameters (GraphQL over HTTP, "Request Parameters"): query, a string, required;
  // operationName, a string; variables and extensions, maps (JSON objects). null is the same as
  // absent. Anything else is a 400, whatever the media type: the request is not well-formed.
  //   GET ("GET"): in the URL's query string, variables and extensions as JSON text.
  //   POST ("POST"): Content-Type application/json, its parameters in any case, a charset only
  //   if it is UTF-8 (RFC 9110 §8.3.1, RFC 8259 §8.1); missing or another type: 415. The body at
  //   most maxBodyBytes bytes (413 as soon as it is known to be over, Connection: close), UTF-8,
  //   JSON (else 400), an object (else 400) whose members are the parameters.
  // TODO: Then GraphQL: parse (with maxTokens), validate (graphql-js's specified rules and the
  // extra validationRules), find the operation (operationName), execute with a new context.
  // Parse, validation, a missing operation and variables that do not coerce (execute() returns
  // errors and no data) are request errors: 400 under application/graphql-response+json, 200
  // under application/json (GraphQL over HTTP, "Response"). A result with data is 200 either way,
  // errors beside it or not. Every error goes through formatError on its way out.
  // TODO: A mutation by GET is 405 with Allow: POST, and never executed (GraphQL over HTTP,
  // "GET"; a GET is safe, RFC 9110 §9.2.1).
  // TODO (Step 4): A GET answered 200 without errors gets ETag (strongETag() of what is sent),
  // Cache-Control: CACHE_CONTROL.query, Vary: Accept (RFC 9110 §12.5.5); with If-None-Match that
  // matches it (RFC 9110 §13.1.2: weak comparison, a list, or *): 304 with those headers and no
  // body. Everything else, a POST, a response with errors, a refusal: Cache-Control:
  // CACHE_CONTROL.none.
  return () => todo("lesson-09-graphql", "createGraphQLHandler()", "Step 3");
}

/**
 * The response's media type from Accept (RFC 9110 §12.5.1): application/graphql-response+json
 * when the client names it, at least as high as application/json; application/json when only
 * that is acceptable (a wildcard included: clients from before the new type expect it, and an
 * absent Accept means one of them). Undefined when neither is acceptable.
 */
export function negotiate(accept: string | undefined): ResponseMediaType | undefined {
  // TODO: Accept is a list of media ranges, each with an optional weight q (RFC 9110 §12.4.2), 0
  // meaning "not this". Types are compared without case. The most specific range that matches a
  // type gives its weight: application/json, then application/*, then */* (RFC 9110 §12.5.1).
  return todo("lesson-09-graphql", "negotiate()", "Step 3");
}

/**
 * A strong entity tag from the representation: its bytes, and its media type, since the same
 * bytes as another type are another representation (RFC 9110 §8.8.3). The same bytes, the same
 * tag, whichever run of the server made them; another byte, another tag.
 */
export function strongETag(mediaType: ResponseMediaType, bytes: Buffer): string {
  // TODO: An entity tag is an opaque string in double quotes; a strong one has no W/ before it
  // (RFC 9110 §8.8.3). A hash of the bytes is one that changes whenever they do.
  return todo("lesson-09-graphql", "strongETag()", "Step 4");
}
