/**
 * The store's users, orders and reviews as resources, with express:
 *
 *   GET    /users?limit=&cursor=     a page of users: {"data":[...],"next":<cursor>|null}, and
 *                                    Link: </users?limit=2&cursor=...>; rel="next"
 *   POST   /users                    {"name","email"} -> 201, Location: /users/141, the user
 *   GET    /users/:id                the user
 *   PUT    /users/:id                {"name","email"}: the whole user replaced -> 200, the user
 *   PATCH  /users/:id                a JSON Merge Patch (application/merge-patch+json) -> 200
 *   DELETE /users/:id                204; the user is gone, and a second DELETE is 404
 *   GET    /users/:id/orders?last=   the user's orders, oldest first (the most recent `last`)
 *   GET    /users/:id/reviews        the user's reviews
 *   GET    /openapi.json             the OpenAPI document (Step 5)
 *
 * HEAD works wherever GET does (express routes it to the GET handler and sends no body), OPTIONS
 * answers 204 with Allow, any other method is 405 with Allow, and every refusal is a problem
 * document (problem.ts). Each representation goes through sendRepresentation() (caching.ts), which
 * adds its ETag and Cache-Control; each write first checks its preconditions (If-Match).
 */
import http from "node:http";
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import type { z } from "zod";
import { CACHE_CONTROL, checkPreconditions, etagOf, sendRepresentation } from "./caching.ts";
import { idempotency } from "./idempotency.ts";
import { openApiDocument } from "./openapi.ts";
import { ApiError, invalidParams, problemHandler } from "./problem.ts";
import { OrdersQuerySchema, PageQuerySchema, UserInputSchema, UserPatchSchema } from "./schemas.ts";
import { createStore, StoreError, type Store, type User } from "./store.ts";

export interface AppOptions {
  store: Store;
  /** An unexpected error, and the id its 500 problem names (`instance: "urn:error:<id>"`). Default console.error. */
  log?: (error: unknown, id: string) => void;
  /** Largest request body, bytes; past it 413. Default 16_384. */
  maxBodyBytes?: number;
  /** How long an Idempotency-Key is remembered, ms. Default 24 h. */
  idempotencyTtlMs?: number;
}

export const APP_DEFAULTS = {
  maxBodyBytes: 16_384,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
} satisfies Required<Pick<AppOptions, "maxBodyBytes" | "idempotencyTtlMs">>;

/** The media types a client may send a body in, and the headers a 415 names them in. */
const JSON_TYPE = "application/json";
const MERGE_PATCH_TYPE = "application/merge-patch+json";

/** What `npm run serve -- lesson-08` starts: createApp over a fresh store, as an http.Server. */
export function createServer(options: Partial<AppOptions> = {}): http.Server {
  return http.createServer(createApp({ ...options, store: options.store ?? createStore() }));
}

/** The express application: the checks every request goes through, the routes, the errors. */
export function createApp(options: AppOptions): express.Express {
  const { store } = options;
  const log = options.log ?? logToConsole;
  const maxBodyBytes = options.maxBodyBytes ?? APP_DEFAULTS.maxBodyBytes;
  const ttlMs = options.idempotencyTtlMs ?? APP_DEFAULTS.idempotencyTtlMs;

  const app = express();
  app.disable("x-powered-by");
  // sendRepresentation() sets the ETag: express's own would be a second, different one.
  app.set("etag", false);
  app.use(acceptsJson);

  // Any JSON value gets through the parser (strict: false), so that zod says what is wrong with
  // `"hi"` or `[1]` in the terms of the resource, not as "not JSON".
  const parse = (type: string) => express.json({ type, limit: maxBodyBytes, strict: false });
  const json = [requireMediaType(JSON_TYPE), parse(JSON_TYPE)];
  const mergePatch = [requireMediaType(MERGE_PATCH_TYPE), parse(MERGE_PATCH_TYPE)];

  app
    .route("/users")
    .get((req, res) => listUsers(store, req, res))
    .post(...json, idempotency({ ttlMs }), (req, res) => createUser(store, req, res))
    .all(otherMethods("GET, HEAD, POST, OPTIONS"));
  app
    .route("/users/:id")
    .get((req, res) => getUser(store, req, res))
    .put(...json, (req, res) => replaceUser(store, req, res))
    .patch(...mergePatch, (req, res) => patchUser(store, req, res))
    .delete((req, res) => deleteUser(store, req, res))
    .all(otherMethods("GET, HEAD, PUT, PATCH, DELETE, OPTIONS"));
  app
    .route("/users/:id/orders")
    .get((req, res) => getOrders(store, req, res))
    .all(otherMethods("GET, HEAD, OPTIONS"));
  app
    .route("/users/:id/reviews")
    .get((req, res) => getReviews(store, req, res))
    .all(otherMethods("GET, HEAD, OPTIONS"));
  app
    .route("/openapi.json")
    .get((req, res) =>
      sendRepresentation(req, res, openApiDocument(), { cacheControl: CACHE_CONTROL.openapi }),
    )
    .all(otherMethods("GET, HEAD, OPTIONS"));

  app.use(notFound);
  app.use(problemHandler(log));
  return app;
}

function logToConsole(error: unknown, id: string): void {
  console.error(`lesson-08: unexpected error, instance urn:error:${id}:`, error);
}

/**
 * GET /users: one page, in id order. The cursor is where the last page ended (the last id it
 * held), not how many users came before: a user created or deleted meanwhile moves every offset
 * after it, so `?offset=20` would skip or repeat one, while "the users after id 120" stays put.
 */
function listUsers(store: Store, req: Request, res: Response): void {
  const { limit, cursor } = parse(PageQuerySchema, req.query, "query");
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  // One more than asked tells whether there is a next page, in the same query.
  const rows = store.listUsers({ after, limit: limit + 1 });
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const next = rows.length > limit && last !== undefined ? encodeCursor(last) : null;
  if (next !== null) {
    // RFC 8288 §3: the target in angle brackets, then its relation. A reference relative to the
    // request's own URL (RFC 3986 §5), from its path on, so it holds whatever the Host was.
    const query = new URLSearchParams({ limit: String(limit), cursor: next });
    res.set("Link", `</users?${query}>; rel="next"`);
  }
  sendRepresentation(req, res, { data, next }, { cacheControl: CACHE_CONTROL.userList });
}

/**
 * The cursor is opaque to clients (base64url of a small JSON object): they hand it back, they do
 * not build it, so its contents can change without breaking one of them.
 */
function encodeCursor(last: User): string {
  return Buffer.from(JSON.stringify({ after: last.id })).toString("base64url");
}

function decodeCursor(cursor: string): string {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { after?: unknown })
      .after;
  } catch {
    after = undefined;
  }
  if (typeof after === "string" && /^[0-9]+$/.test(after)) return after;
  throw new ApiError(400, "validation", "The query parameter cursor is not one this API gave", {
    errors: [{ pointer: "cursor", reason: "is not a cursor from a page of this list" }],
  });
}

function getUser(store: Store, req: Request<{ id: string }>, res: Response): void {
  const user = store.getUser(req.params.id) ?? noSuchUser(req.params.id);
  sendRepresentation(req, res, user, { cacheControl: CACHE_CONTROL.user });
}

/** POST /users: the server names the new resource, and says where it is (RFC 9110 §15.3.2). */
function createUser(store: Store, req: Request, res: Response): void {
  const input = parse(UserInputSchema, req.body, "body");
  const user = emailChecked(() => store.createUser(input));
  res.location(`/users/${user.id}`);
  sendRepresentation(req, res, user, { cacheControl: CACHE_CONTROL.user, status: 201 });
}

/**
 * PUT /users/:id: the body is the whole new state (RFC 9110 §9.3.4), so a field left out is not
 * kept; the same PUT twice leaves the same user and gets the same answer. Ids are the server's to
 * give (POST), so a PUT to an id it has not given is 404, not a creation.
 */
function replaceUser(store: Store, req: Request<{ id: string }>, res: Response): void {
  const { id } = req.params;
  const input = parse(UserInputSchema, req.body, "body");
  const current = store.getUser(id) ?? noSuchUser(id);
  checkPreconditions(req, etagOf(current));
  const user = emailChecked(() => store.replaceUser(id, input)) ?? noSuchUser(id);
  sendRepresentation(req, res, user, { cacheControl: CACHE_CONTROL.user });
}

/**
 * PATCH /users/:id with a JSON Merge Patch (RFC 7396): each member of the patch replaces that
 * field, a member left out leaves it as it is, and null would remove it. No field of a user may be
 * removed, so UserPatchSchema refuses null, as it refuses a patch that is not an object (which
 * RFC 7396 §2 would make the whole new user).
 */
function patchUser(store: Store, req: Request<{ id: string }>, res: Response): void {
  const { id } = req.params;
  const patch = parse(UserPatchSchema, req.body, "body");
  const current = store.getUser(id) ?? noSuchUser(id);
  checkPreconditions(req, etagOf(current));
  // The store has no patch of its own: the merged user is written whole.
  const merged = { name: patch.name ?? current.name, email: patch.email ?? current.email };
  const user = emailChecked(() => store.replaceUser(id, merged)) ?? noSuchUser(id);
  sendRepresentation(req, res, user, { cacheControl: CACHE_CONTROL.user });
}

/** DELETE /users/:id: 204 No Content (RFC 9110 §9.3.5); what is gone is 404 from now on. */
function deleteUser(store: Store, req: Request<{ id: string }>, res: Response): void {
  const { id } = req.params;
  const current = store.getUser(id) ?? noSuchUser(id);
  checkPreconditions(req, etagOf(current));
  if (!store.deleteUser(id)) noSuchUser(id);
  res.status(204).end();
}

function getOrders(store: Store, req: Request<{ id: string }>, res: Response): void {
  const { id } = req.params;
  const { last } = parse(OrdersQuerySchema, req.query, "query");
  if (store.getUser(id) === undefined) noSuchUser(id);
  sendRepresentation(req, res, store.ordersOf(id, { last }), {
    cacheControl: CACHE_CONTROL.orders,
  });
}

function getReviews(store: Store, req: Request<{ id: string }>, res: Response): void {
  const { id } = req.params;
  // Without the user, an empty list would say "no reviews" of someone who does not exist.
  if (store.getUser(id) === undefined) noSuchUser(id);
  sendRepresentation(req, res, store.reviewsOf(id), { cacheControl: CACHE_CONTROL.reviews });
}

/** `value` as `schema` makes it, or a 400 with one entry per invalid field. */
function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: "body" | "query",
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = invalidParams(result.error, where);
  const detail =
    where === "query"
      ? `The query parameter ${[...new Set(errors.map((e) => e.pointer))].join(", ")} is not valid`
      : "The body is not valid: each invalid field is in errors";
  throw new ApiError(400, "validation", detail, { errors });
}

function noSuchUser(id: string): never {
  throw new ApiError(404, "not-found", `There is no user ${JSON.stringify(id)}`);
}

/** A write the store refuses for a taken email: 409, the request conflicts with another user. */
function emailChecked<T>(write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (error instanceof StoreError && error.code === "STORE_EMAIL_TAKEN") {
      throw new ApiError(409, "conflict", "Another user has this email", {
        errors: [{ pointer: "/email", reason: "is taken by another user" }],
      });
    }
    throw error;
  }
}

/**
 * Every answer of this API is application/json, or application/problem+json when it is a refusal.
 * RFC 9110 §12.5.1: no Accept means any type; an Accept that takes neither is 406 (§15.5.7). Media
 * types are compared without case (§8.3.1), as req.accepts() does.
 */
function acceptsJson(req: Request, _res: Response, next: NextFunction): void {
  if (req.accepts([JSON_TYPE, "application/problem+json"]) !== false) return next();
  throw new ApiError(
    406,
    "not-acceptable",
    `This API answers in application/json or application/problem+json, which Accept: ${JSON.stringify(req.get("Accept"))} refuses`,
  );
}

/**
 * A body in any other media type than `type` is refused (RFC 9110 §15.5.16), naming the types
 * taken: `Accept` for any method, and `Accept-Post` (W3C LDP §7.1) or `Accept-Patch` (RFC 5789 §2.2)
 * for those. Without the check, express.json() would skip the body and leave req.body undefined.
 */
function requireMediaType(type: string): RequestHandler {
  return function checkMediaType(req, _res, next) {
    // No body at all is a missing user, for validation to refuse (400), not a wrong type. req.is()
    // is null without Content-Length and Transfer-Encoding, but counts `Content-Length: 0`.
    if (req.get("Content-Length") === "0" || req.is(type) !== false) return next();
    const sent = req.get("Content-Type");
    const headers: Record<string, string> = { Accept: type };
    if (req.method === "POST") headers["Accept-Post"] = type;
    if (req.method === "PATCH") headers["Accept-Patch"] = type;
    throw new ApiError(
      415,
      "unsupported-media-type",
      `A ${req.method} body must be ${type}, not ${sent === undefined ? "one without a Content-Type" : JSON.stringify(sent)}`,
      { headers },
    );
  };
}

/** Any method a route lacks: 405 with the methods it has (RFC 9110 §15.5.6); OPTIONS lists them. */
function otherMethods(allow: string): RequestHandler {
  return function refuseMethod(req, res) {
    if (req.method === "OPTIONS") {
      // RFC 9110 §9.3.7; RFC 5789 §3.1: Accept-Patch "SHOULD appear in the OPTIONS response".
      res.set("Allow", allow);
      if (allow.includes("POST")) res.set("Accept-Post", JSON_TYPE);
      if (allow.includes("PATCH")) res.set("Accept-Patch", MERGE_PATCH_TYPE);
      res.status(204).end();
      return;
    }
    throw new ApiError(405, "method-not-allowed", `${req.method} is not a method of ${req.path}`, {
      headers: { Allow: allow },
    });
  };
}

function notFound(req: Request): void {
  throw new ApiError(404, "not-found", `There is no resource at ${req.path}`);
}
