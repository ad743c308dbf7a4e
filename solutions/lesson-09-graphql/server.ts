/**
 * The server you ship: the lesson's parts put together on node:http.
 *
 *   GET/POST /graphql   the handler of Step 3, over the schema of Step 1, with
 *                         - a context made anew for each request, with new loaders (Step 2);
 *                         - the limits of Step 5 as extra validation rules, and introspection
 *                           off when asked (graphql-js's NoSchemaIntrospectionCustomRule);
 *                         - a token limit, so that a huge document is refused while it is parsed;
 *                         - resolver bugs masked, logged with the id the client gets
 *   anything else       404, with {"errors":[{"message":"No such path: ..."}]} as JSON
 *
 * createServer() returns an unstarted server, so `npm run serve` can start it with no arguments.
 */
import http from "node:http";
import { NoSchemaIntrospectionCustomRule, type ValidationRule } from "graphql";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { createGraphQLHandler } from "./handler.ts";
import { costLimit, depthLimit, maskError } from "./limits.ts";
import { createLoaders } from "./loaders.ts";
import { createSchema, type GraphQLContext } from "./schema.ts";

export interface ServerOptions {
  /** The data; default a fresh store with the course's data set. */
  store?: Store;
  /** A DataLoader per request (Step 2). Default true: false shows the N+1 queries. */
  dataloader?: boolean;
  /** Whether `__schema` and `__type` may be queried. Default true; turn it off in production. */
  introspection?: boolean;
  /** The deepest a query may nest its fields. Default 8. */
  maxDepth?: number;
  /** The most a query may cost, by costLimit's model. Default 10,000. */
  maxCost?: number;
  /** The most tokens a document may have; past it, parsing stops. Default 1,000. */
  maxTokens?: number;
  /** Where a resolver's bug goes, with the id its masked error names. Default console.error. */
  log?: (error: unknown, id: string) => void;
}

export const SERVER_DEFAULTS = {
  // The course's deepest screen (users > edges > node > orders > items > productName) is 6;
  // Review.author leads back to User, so a query can go as deep as its author types it.
  maxDepth: 8,
  // 20 users with all their orders, items and reviews costs about 5,000 by costLimit's model.
  maxCost: 10_000,
  maxTokens: 1_000,
} satisfies Required<Pick<ServerOptions, "maxDepth" | "maxCost" | "maxTokens">>;

function logToConsole(error: unknown, id: string): void {
  console.error(`GraphQL error ${id}:`, error);
}

export function createServer(options: ServerOptions = {}): http.Server {
  const store = options.store ?? createStore();
  const withLoaders = options.dataloader ?? true;
  const validationRules: ValidationRule[] = [
    depthLimit(options.maxDepth ?? SERVER_DEFAULTS.maxDepth),
    costLimit(options.maxCost ?? SERVER_DEFAULTS.maxCost),
  ];
  if (options.introspection === false) validationRules.push(NoSchemaIntrospectionCustomRule);

  const graphql = createGraphQLHandler({
    schema: createSchema(),
    // New loaders for every request: a loader's cache must not answer another request.
    context: (): GraphQLContext => ({
      store,
      loaders: withLoaders ? createLoaders(store) : undefined,
    }),
    validationRules,
    maxTokens: options.maxTokens ?? SERVER_DEFAULTS.maxTokens,
    formatError: maskError(options.log ?? logToConsole),
  });

  return http.createServer((req, res) => {
    // The path alone decides; the query string is the handler's (a GET carries the query in it).
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/graphql") {
      graphql(req, res);
      return;
    }
    const body = JSON.stringify({ errors: [{ message: `No such path: ${path}` }] });
    res.writeHead(404, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
}
