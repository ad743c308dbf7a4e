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
 */
import { createHash } from "node:crypto";
import type http from "node:http";
import {
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
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

const GRAPHQL_RESPONSE = "application/graphql-response+json";
const JSON_TYPE = "application/json";

/** The handler for one endpoint: give it every request to /graphql. */
export function createGraphQLHandler(
  options: HandlerOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const settings = {
    ...options,
    maxBodyBytes: options.maxBodyBytes ?? HANDLER_DEFAULTS.maxBodyBytes,
    rules: [...specifiedRules, ...(options.validationRules ?? [])],
    formatError: options.formatError ?? ((error: GraphQLError) => error),
  };
  return (req, res) => {
    handle(settings, req, res).catch((error: unknown) => {
      // A bug, ours or a resolver's that escaped graphql-js: logged here, and never shown to the
      // client (its message may hold anything).
      console.error(error);
      if (res.headersSent) res.destroy();
      else send(res, 500, JSON_TYPE, { errors: [{ message: "Internal server error" }] });
    });
  };
}

type Settings = Omit<HandlerOptions, "validationRules" | "formatError"> &
  Required<Pick<HandlerOptions, "maxBodyBytes" | "formatError">> & {
    rules: readonly ValidationRule[];
  };

async function handle(
  settings: Settings,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "POST") {
    return refuse(
      res,
      JSON_TYPE,
      new GraphQLHttpError("GQL_METHOD_NOT_ALLOWED", 405, `${req.method} is not GET or POST`, {
        Allow: "GET, POST",
      }),
    );
  }
  const mediaType = negotiate(req.headers.accept);
  if (mediaType === undefined) {
    // GraphQL over HTTP, "Accept": a server MAY answer 406 when it can send neither type.
    return refuse(
      res,
      JSON_TYPE,
      new GraphQLHttpError(
        "GQL_NOT_ACCEPTABLE",
        406,
        `Accept ${JSON.stringify(req.headers.accept)} allows neither ${GRAPHQL_RESPONSE} nor ${JSON_TYPE}`,
      ),
    );
  }

  let params: GraphQLParams;
  try {
    params =
      req.method === "GET"
        ? paramsFromUrl(req.url ?? "/")
        : paramsFromBody(await readJsonBody(req, settings.maxBodyBytes));
  } catch (error) {
    if (error instanceof GraphQLHttpError) return refuse(res, mediaType, error);
    throw error;
  }

  // From here on the request is well-formed: what goes wrong is a GraphQL request error (the
  // document does not parse, does not validate, its variables do not coerce), and its status
  // depends on the media type (GraphQL over HTTP, "Response").
  let document: DocumentNode;
  try {
    document = parse(params.query, { maxTokens: settings.maxTokens });
  } catch (error) {
    if (error instanceof GraphQLError) return respond(settings, req, res, mediaType, [error]);
    throw error;
  }
  const invalid = validate(settings.schema, document, settings.rules);
  if (invalid.length > 0) return respond(settings, req, res, mediaType, invalid);

  const operation = getOperationAST(document, params.operationName);
  if (operation == null) {
    const name = params.operationName;
    const message =
      name == null
        ? "The document has several operations: name one in operationName"
        : `The document has no operation named ${JSON.stringify(name)}`;
    return respond(settings, req, res, mediaType, [new GraphQLError(message)]);
  }
  if (operation.operation === "subscription") {
    const message = "Subscriptions are not served over this endpoint";
    return respond(settings, req, res, mediaType, [new GraphQLError(message)]);
  }
  // GraphQL over HTTP, "GET": a GET must be safe (RFC 9110 §9.2.1); a mutation by GET is 405.
  if (operation.operation === "mutation" && req.method === "GET") {
    return refuse(
      res,
      mediaType,
      new GraphQLHttpError("GQL_METHOD_NOT_ALLOWED", 405, "A mutation is sent by POST", {
        Allow: "POST",
      }),
    );
  }

  const result = await execute({
    schema: settings.schema,
    document,
    operationName: params.operationName,
    variableValues: params.variables,
    contextValue: settings.context(req),
  });
  respond(settings, req, res, mediaType, result);
}

/**
 * The response's media type from Accept (RFC 9110 §12.5.1): application/graphql-response+json
 * when the client names it, at least as high as application/json; application/json when only
 * that is acceptable (a wildcard included: clients from before the new type expect it, and an
 * absent Accept means one of them). Undefined when neither is acceptable.
 */
export function negotiate(accept: string | undefined): ResponseMediaType | undefined {
  if (accept === undefined || accept.trim() === "") return JSON_TYPE;
  const ranges = accept.split(",").flatMap((part) => {
    const [range = "", ...parameters] = part.split(";");
    let q = 1;
    for (const parameter of parameters) {
      const [name = "", value = ""] = parameter.split("=");
      if (name.trim().toLowerCase() === "q") q = Number(value.trim());
    }
    // A weight that is not a number is not a range anyone meant (RFC 9110 §12.4.2).
    return Number.isNaN(q) ? [] : [{ range: range.trim().toLowerCase(), q }];
  });
  // The most specific range that matches decides (RFC 9110 §12.5.1).
  const weight = (type: string, wildcards: boolean): number => {
    const exact = ranges.find((r) => r.range === type);
    if (exact || !wildcards) return exact?.q ?? 0;
    const major = ranges.find((r) => r.range === `${type.split("/")[0]}/*`);
    return (major ?? ranges.find((r) => r.range === "*/*"))?.q ?? 0;
  };
  const graphqlResponse = weight(GRAPHQL_RESPONSE, false);
  const json = weight(JSON_TYPE, true);
  if (graphqlResponse > 0 && graphqlResponse >= json) return GRAPHQL_RESPONSE;
  if (json > 0) return JSON_TYPE;
  return undefined;
}

/** GET: the parameters are in the query string, variables and extensions as JSON text. */
function paramsFromUrl(url: string): GraphQLParams {
  const search = new URL(url, "http://localhost").searchParams;
  const json = (name: string): unknown => {
    const text = search.get(name);
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw badRequest(`The ${name} parameter is not JSON: ${JSON.stringify(text)}`);
    }
  };
  return checkParams({
    query: search.get("query") ?? undefined,
    operationName: search.get("operationName") ?? undefined,
    variables: json("variables"),
    extensions: json("extensions"),
  });
}

/** POST: the body is one JSON object with the parameters as its members. */
function paramsFromBody(body: unknown): GraphQLParams {
  if (!isMap(body)) throw badRequest("The body is JSON, but not an object");
  return checkParams(body);
}

/** Each parameter of the type the spec says; a missing or null optional one is absent. */
function checkParams(raw: Record<string, unknown>): GraphQLParams {
  const { query, operationName, variables, extensions } = raw;
  if (typeof query !== "string") {
    throw badRequest(
      query === undefined
        ? "The query parameter is missing"
        : "The query parameter is not a string",
    );
  }
  if (operationName != null && typeof operationName !== "string") {
    throw badRequest("The operationName parameter is not a string");
  }
  // A string is not a map, even if it holds JSON: a client that sends variables: "{...}" has
  // encoded them twice, and is told so rather than guessed at.
  if (variables != null && !isMap(variables)) {
    throw badRequest("The variables parameter is not an object (a map of names to values)");
  }
  if (extensions != null && !isMap(extensions)) {
    throw badRequest("The extensions parameter is not an object");
  }
  return { query, operationName, variables, extensions };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badRequest(message: string): GraphQLHttpError {
  return new GraphQLHttpError("GQL_BAD_REQUEST", 400, message);
}

/**
 * A POST's body as JSON: Content-Type application/json (with no charset or UTF-8, in any case),
 * at most maxBytes bytes, valid UTF-8, valid JSON.
 */
async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = req.headers["content-type"];
  if (!isJsonUtf8(contentType)) {
    throw new GraphQLHttpError(
      "GQL_UNSUPPORTED_MEDIA_TYPE",
      415,
      contentType === undefined
        ? `A POST needs Content-Type: ${JSON_TYPE}`
        : `Content-Type ${JSON.stringify(contentType)} is not ${JSON_TYPE} in UTF-8`,
      // RFC 9110 §15.5.16: Accept in the response says which media type would have been.
      { Accept: JSON_TYPE },
    );
  }
  const bytes = await readBody(req, maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("The body is not UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest(text === "" ? "The body is empty" : "The body is not JSON");
  }
}

/**
 * application/json, its parameters after `;` (RFC 9110 §8.3.1). Type, subtype and parameter names
 * are case-insensitive, and so is the charset's value (RFC 9110 §8.3.2); JSON is UTF-8 (RFC 8259
 * §8.1), so a charset, if any, must say so.
 */
function isJsonUtf8(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type = "", ...parameters] = contentType.split(";");
  if (type.trim().toLowerCase() !== JSON_TYPE) return false;
  for (const parameter of parameters) {
    const equals = parameter.indexOf("=");
    if (equals === -1) continue;
    if (parameter.slice(0, equals).trim().toLowerCase() !== "charset") continue;
    const value = parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
    if (value !== "utf-8" && value !== "utf8") return false;
  }
  return true;
}

/** The request's body, refused with 413 as soon as it is known to pass maxBytes. */
function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new GraphQLHttpError("GQL_BODY_TOO_LARGE", 413, `The body is over ${maxBytes} bytes`, {
      // The rest of the body is not read: the connection cannot carry another request.
      Connection: "close",
    });
  // A declared length over the cap is refused before a byte of the body is read.
  if (Number(req.headers["content-length"] ?? 0) > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData).off("end", onEnd);
        req.pause();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks, size));
    // A client that goes away mid-body: nobody is left to answer, and nothing is wrong here.
    const onAborted = (): void => reject(badRequest("The body ended before its end"));
    req.on("data", onData).on("end", onEnd).on("error", onAborted);
  });
}

/**
 * The GraphQL response. Errors without data (the request never ran: it did not parse, validate
 * or coerce) are a request error: 400 under application/graphql-response+json, 200 under
 * application/json, where a legacy client reads the status of a well-formed request as "the
 * request reached GraphQL". With data, even with errors beside it, 200 either way.
 */
function respond(
  settings: Settings,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  mediaType: ResponseMediaType,
  resultOrErrors: ExecutionResult | readonly GraphQLError[],
): void {
  const result: ExecutionResult = isErrorList(resultOrErrors)
    ? { errors: resultOrErrors }
    : resultOrErrors;
  const body: ExecutionResult = result.errors
    ? { ...result, errors: result.errors.map((error) => settings.formatError(error)) }
    : result;
  const status = !("data" in result) && mediaType === GRAPHQL_RESPONSE ? 400 : 200;
  const bytes = Buffer.from(JSON.stringify(body));
  if (req.method !== "GET" || status !== 200 || body.errors !== undefined) {
    // A POST is not a read a cache may answer again, and an error is not worth keeping: it may
    // be gone on the next try, and a resolver's failure is no representation of the data.
    return send(res, status, mediaType, bytes, { "Cache-Control": CACHE_CONTROL.none });
  }
  // A GET query that succeeded: a representation of its URL, with a strong validator from its
  // bytes (RFC 9110 §8.8.3), fresh for max-age (RFC 9111 §5.2.2.1). The status and the type
  // depend on Accept, so caches keep one copy per Accept (Vary, RFC 9110 §12.5.5).
  const etag = strongETag(mediaType, bytes);
  const headers = { ETag: etag, "Cache-Control": CACHE_CONTROL.query, Vary: "Accept" };
  if (matches(req.headers["if-none-match"], etag)) {
    // RFC 9110 §15.4.5: a 304 carries the headers a 200 would have had that a cache updates.
    res.writeHead(304, headers).end();
    return;
  }
  send(res, 200, mediaType, bytes, headers);
}

function isErrorList(
  value: ExecutionResult | readonly GraphQLError[],
): value is readonly GraphQLError[] {
  return Array.isArray(value);
}

/**
 * A strong entity tag from the representation: its bytes, and its media type, since the same
 * bytes as another type are another representation (RFC 9110 §8.8.3). The same bytes, the same
 * tag, whichever run of the server made them; another byte, another tag.
 */
export function strongETag(mediaType: ResponseMediaType, bytes: Buffer): string {
  const hash = createHash("sha256").update(mediaType).update("\n").update(bytes);
  return `"${hash.digest("base64url")}"`;
}

/**
 * If-None-Match (RFC 9110 §13.1.2): `*`, or a list of entity tags compared weakly, so W/"x"
 * matches "x". Entity tags may hold commas: they are read by their quotes, not split at commas.
 */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === "*") return true;
  for (const [, opaque] of ifNoneMatch.matchAll(/(?:W\/)?("[^"]*")/g)) {
    if (opaque === etag) return true;
  }
  return false;
}

/** A refusal: the status, its headers, and one error that says why. Never cached. */
function refuse(
  res: http.ServerResponse,
  mediaType: ResponseMediaType,
  error: GraphQLHttpError,
): void {
  send(
    res,
    error.status,
    mediaType,
    Buffer.from(JSON.stringify({ errors: [{ message: error.message }] })),
    {
      ...error.headers,
      "Cache-Control": CACHE_CONTROL.none,
    },
  );
}

function send(
  res: http.ServerResponse,
  status: number,
  mediaType: ResponseMediaType,
  body: Buffer | object,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...headers,
    "Content-Type": `${mediaType}; charset=utf-8`,
    "Content-Length": bytes.length,
  });
  res.end(bytes);
}
