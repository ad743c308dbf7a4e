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
import { createHash } from "node:crypto";
import type express from "express";
import { ApiError } from "./problem.ts";

/**
 * The Cache-Control of each resource kind (RFC 9111 §5.2.2):
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
  // 16 bytes of SHA-256, base64url: 22 characters that are all etagc (RFC 9110 §8.8.3).
  const hash = createHash("sha256").update(body).digest().subarray(0, 16);
  return `"${hash.toString("base64url")}"`;
}

/** The ETag sendRepresentation would send for `value`. */
export function etagOf(value: unknown): string {
  return strongETag(JSON.stringify(value));
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
  const body = JSON.stringify(value);
  const etag = strongETag(body);
  res.setHeader("ETag", etag);
  res.setHeader("Cache-Control", options.cacheControl);

  // RFC 9110 §13.1.2: for GET and HEAD, a matching If-None-Match is answered 304 Not Modified.
  // §15.4.5: the 304 carries the ETag and Cache-Control a 200 would have, and no content.
  if ((req.method === "GET" || req.method === "HEAD") && noneMatchFails(req, etag)) {
    res.status(304).end();
    return;
  }
  res.status(options.status ?? (req.method === "POST" ? 201 : 200));
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  // res.end, not res.send: express's send would answer the 304 itself (its `fresh` check), and
  // here that rule is ours to write. To a HEAD, Node sends the head and leaves the body out.
  res.end(body);
}

/**
 * If-Match / If-Unmodified-Since for a write (RFC 9110 §13.1.1, strong comparison): throws
 * ApiError 412 "precondition-failed" when the current representation (undefined: none) does not
 * match.
 */
export function checkPreconditions(req: express.Request, currentETag: string | undefined): void {
  // RFC 9110 §13.2.2: If-Match first; If-Unmodified-Since only when there is no If-Match; then
  // If-None-Match.
  const ifMatch = req.get("If-Match");
  if (ifMatch !== undefined) {
    if (!matchFound(ifMatch, currentETag, strongMatch)) {
      throw preconditionFailed(`If-Match: ${ifMatch} does not match`, currentETag);
    }
  }
  // If-Unmodified-Since: §13.1.4 says to ignore it when the resource has no modification date,
  // and these resources have none (their validator is the ETag).

  // §13.1.2: on a method other than GET and HEAD, a matching If-None-Match fails the request:
  // `If-None-Match: *` on a PUT means "only if there is nothing there yet".
  const ifNoneMatch = req.get("If-None-Match");
  if (ifNoneMatch !== undefined && matchFound(ifNoneMatch, currentETag, weakMatch)) {
    throw preconditionFailed(`If-None-Match: ${ifNoneMatch} matches`, currentETag);
  }
}

function preconditionFailed(detail: string, currentETag: string | undefined): ApiError {
  // The current ETag goes with the 412, so that a client knows what it now has to read.
  const headers: Record<string, string> = currentETag === undefined ? {} : { ETag: currentETag };
  return new ApiError(412, "precondition-failed", `${detail} the current representation`, {
    headers,
  });
}

/** Whether If-None-Match names the current representation, so a GET gets its 304. */
function noneMatchFails(req: express.Request, etag: string): boolean {
  const ifNoneMatch = req.get("If-None-Match");
  return ifNoneMatch !== undefined && matchFound(ifNoneMatch, etag, weakMatch);
}

/**
 * A field value `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2) against the current ETag:
 * `*` matches any current representation, and a list matches when one of its tags does.
 */
function matchFound(
  field: string,
  current: string | undefined,
  compare: (a: string, b: string) => boolean,
): boolean {
  if (current === undefined) return false;
  if (field === "*") return true; // Node has already trimmed the field's surrounding spaces
  return entityTags(field).some((tag) => compare(tag, current));
}

/**
 * The entity tags of a list, each as sent (`W/"x"` or `"x"`). A comma may sit inside the quotes
 * (etagc is any visible character but DQUOTE), so the list is read quoted string by quoted
 * string, never split on commas.
 */
function entityTags(field: string): string[] {
  return Array.from(field.matchAll(/(?:W\/)?"[^"]*"/g), (match) => match[0]);
}

/** §8.8.3.2: strong comparison: neither is weak, and the opaque tags are the same. */
function strongMatch(a: string, b: string): boolean {
  return !a.startsWith("W/") && a === b; // equal, so b is not weak either
}

/** §8.8.3.2: weak comparison: the opaque tags are the same, weak or not. */
function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}
