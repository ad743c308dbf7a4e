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
import { todo } from "#shared/todo.ts";
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

/** What `npm run serve -- lesson-08` starts: createApp over a fresh store, as an http.Server. */
export function createServer(options: Partial<AppOptions> = {}): http.Server {
  // TODO: http.createServer() with the app of createApp(): these options, over a new store
  // (createStore()) when they give none.
  return todo("lesson-08-rest", "createServer()", "Step 1");
}

/**
 * The express application: the checks every request goes through, the routes, the errors. The
 * routes are Step 1; Steps 2 to 5 add to this function (the README says what, step by step).
 */
export function createApp(options: AppOptions): express.Express {
  // TODO: The options over APP_DEFAULTS. express(), without X-Powered-By; app.set("etag", false),
  // since the ETag is Step 3's, from the bytes sent (express would add a second, different one).
  //
  // TODO: The resources of the comment at the top, each an app.route(): GET /users, POST /users,
  // GET, PUT, PATCH and DELETE /users/:id, GET /users/:id/orders and GET /users/:id/reviews (HEAD
  // comes with each GET: express routes it to the GET handler and leaves the body out).
  // TODO: GET /users: the query through PageQuerySchema (limit 1 to 100, 20 when absent). The page
  // is the users after a cursor, not after an offset: a user created or deleted between two pages
  // must not make the next one skip or repeat anyone. The cursor is opaque to the client (it hands
  // it back, it does not build it), `next` in the body, null on the last page, and the same again
  // in `Link: <target>; rel="next"` (RFC 8288 §3), a target that resolves against the request's
  // URL (RFC 3986 §5) to the next page with the same limit. The last page has no Link.
  // TODO: POST /users: a body in application/json (express.json(), which takes any JSON value with
  // strict: false, under maxBodyBytes), through UserInputSchema; 201 with Location, the new user's
  // URL (RFC 9110 §15.3.2), and the created user as the body.
  // TODO: PUT /users/:id: the body is the whole new state (RFC 9110 §9.3.4), the same schema as a
  // POST: what it leaves out is not kept. The same PUT twice leaves the same user and answers the
  // same (§9.2.2). Ids are the server's to give: a PUT to an id it has not given is 404.
  // TODO: PATCH /users/:id: a JSON Merge Patch (RFC 7396), only as
  // application/merge-patch+json, through UserPatchSchema: each member replaces that field, a member
  // left out keeps it, and null, which would remove it (§2), is refused, since a user needs both.
  // The store has no patch of its own: read the user, merge the patch into it, and write the
  // whole result with replaceUser().
  // TODO: DELETE /users/:id: 204 No Content (RFC 9110 §9.3.5); a user that is not there is 404, so
  // a second DELETE is 404. GET /users/:id/orders (?last=N, OrdersQuerySchema) and
  // /users/:id/reviews: 404 for a user that does not exist, not an empty list.
  // TODO: Every refusal is an ApiError (given, problem.ts) thrown from the handler: 404 "not-found"
  // for a user that is not there, 400 "validation" for a body or query zod refuses, 409 "conflict"
  // for an email another user has (the store's STORE_EMAIL_TAKEN). In this step an ApiError needs
  // only its status, type and detail: the per-field `errors` are Step 2's (invalidParams()).
  //
  // TODO: Step 2. Before the routes: an Accept that takes neither application/json nor
  // application/problem+json is 406 (RFC 9110 §12.5.1, §15.5.7; media types compared without
  // case). Before each body parser: a body in another media type is 415 (§15.5.16), with Accept
  // and, for POST, Accept-Post (W3C LDP §7.1), for PATCH, Accept-Patch (RFC 5789 §2.2); no body at
  // all (Content-Length: 0) is for validation to refuse. After each route's methods: any other is
  // 405 with Allow (§15.5.6), and OPTIONS 204 with Allow. After the routes: any other path is 404.
  // Last: problemHandler(log), with log defaulting to console.error. Each 400 "validation" gets
  // its `errors` from invalidParams(); for a query, its detail names the parameters too
  // ("The query parameter limit is not valid").
  // TODO: Step 3. Every representation goes out through sendRepresentation() with the
  // CACHE_CONTROL of its kind (201 for the POST); PUT, PATCH and DELETE call checkPreconditions()
  // with etagOf() the current user before they write.
  // TODO: Step 4. POST /users runs idempotency({ ttlMs: idempotencyTtlMs }) after the body is
  // parsed and before the handler.
  // TODO: Step 5. GET /openapi.json: openApiDocument() through sendRepresentation().
  return todo("lesson-08-rest", "createApp()", "Step 1");
}
