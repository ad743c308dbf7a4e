/**
 * Validators and freshness: what lets a client keep a representation and ask "has it changed?",
 * and what stops two clients from overwriting each other's edits.
 *
 *   GET /users/123                          200, ETag: "Kq3t...", Cache-Control: private, no-cache
 *   GET /users/123                          304, ETag: "Kq3t...", no body: "what you have is current"
 *     If-None-Match: "Kq3t..."
 *   PUT /users/123                          412 when the user changed since that ETag was sent
 *     If-Match: "Kq3t..."
 *
 * An entity tag (RFC 9110 §8.8.3) is an opaque string in double quotes; a `W/` in front makes it
 * weak ("semantically equivalent"), none makes it strong ("the same bytes"). Ours are strong,
 * because they are a hash of the very bytes sent: two representations have the same tag exactly
 * when they have the same bytes, and a change anywhere changes it.
 */
import type express from "express";
import { todo } from "#shared/todo.ts";

/**
 * The Cache-Control of each resource kind (RFC 9111 §5.2.2), given: the README's "Choosing
 * Cache-Control" says why each is what it is.
 *
 * - a user is personal data that its owner edits: `private` keeps it out of shared caches (a CDN,
 *   a proxy), and `no-cache` lets a client store it but makes it ask before each reuse, which
 *   with an ETag costs a 304 and no body. A client never shows an edit it made as undone.
 * - a list of users changes whenever someone signs up: a few seconds of freshness spare a server
 *   a burst of the same request, and nobody minds a list that is 5 s old.
 * - a user's orders are their history (placed orders do not change; a new one is rare), a minute
 *   is safe; still personal, so `private`.
 * - reviews are published for everyone to read: `public`, a minute.
 * - the OpenAPI document changes only when the API is deployed anew: a day, and then
 *   `must-revalidate`, so that a stale copy is never used without asking.
 */
export const CACHE_CONTROL = {
  user: "private, no-cache",
  userList: "private, max-age=5",
  orders: "private, max-age=60",
  reviews: "public, max-age=60",
  openapi: "public, max-age=86400, must-revalidate",
} as const satisfies Record<string, string>;

/** A strong validator from the representation's bytes (e.g. a hash in quotes). */
export function strongETag(body: string | Buffer): string {
  // TODO: A strong entity tag (RFC 9110 §8.8.3): the same bytes always give the same tag, other
  // bytes another one, so make it from the bytes themselves (a hash). It is DQUOTE *etagc DQUOTE,
  // with no W/ in front.
  return todo("lesson-08-rest", "strongETag()", "Step 3");
}

/** The ETag sendRepresentation would send for `value`. */
export function etagOf(value: unknown): string {
  // TODO: The tag of the very bytes sendRepresentation sends for `value` (RFC 9110 §8.8.3), so a
  // write can compare it with a client's If-Match.
  return todo("lesson-08-rest", "etagOf()", "Step 3");
}

/**
 * Serialises `value` as JSON, sets Content-Type, ETag and Cache-Control; answers 304 when
 * If-None-Match matches (weak comparison, RFC 9110 §13.1.2); `status` defaults to 200 (201 for
 * POST).
 */
export function sendRepresentation(
  req: express.Request,
  res: express.Response,
  value: unknown,
  options: { cacheControl: string; status?: number },
): void {
  // TODO: Every representation carries its strong ETag and the Cache-Control it is given (RFC 9111
  // §5.2). For GET and HEAD, an If-None-Match that is `*` or lists the current tag under the weak
  // comparison (RFC 9110 §13.1.2, §8.8.3.2) gets 304 Not Modified: the same ETag and Cache-Control,
  // no content (§15.4.5). Otherwise the JSON with its status: `status`, else 201 for a POST, else
  // 200. (express's res.send would answer the 304 on its own: the rule is yours to write here.)
  return todo("lesson-08-rest", "sendRepresentation()", "Step 3");
}

/**
 * If-Match / If-Unmodified-Since for a write (RFC 9110 §13.1.1, strong comparison): throws
 * ApiError 412 "precondition-failed" when the current representation (undefined: none) does not
 * match.
 */
export function checkPreconditions(req: express.Request, currentETag: string | undefined): void {
  // TODO: The preconditions of a write, in the order of RFC 9110 §13.2.2. If-Match (§13.1.1) holds
  // when it is `*` and there is a current representation, or when one tag of its list equals the
  // current ETag under the strong comparison (a W/ tag never does). If-Unmodified-Since is
  // ignored: these resources have no modification date (§13.1.4). If-None-Match (§13.1.2) fails a
  // write when it is `*` and there is a current representation, or lists the current tag (weak
  // comparison). A condition that fails is ApiError 412 "precondition-failed" (ApiError is in
  // ./problem.ts), thrown before anything is written.
  return todo("lesson-08-rest", "checkPreconditions()", "Step 3");
}
