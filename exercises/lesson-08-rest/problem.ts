/**
 * Errors as problem details (RFC 9457): every refusal of the API is one JSON document, served as
 * `application/problem+json`, that a client can read without knowing this API:
 *
 *   HTTP/1.1 400 Bad Request
 *   Content-Type: application/problem+json
 *
 *   {"type":"https://protocol-course.dev/problems/validation","title":"The request is not valid",
 *    "status":400,"detail":"The body is not a valid user",
 *    "errors":[{"pointer":"/email","reason":"Invalid email address"}]}
 *
 * `type` names the kind of problem (a client branches on it), `title` says it in words and is the
 * same for every problem of that type, `detail` explains this occurrence, `status` repeats the
 * status code (RFC 9457 §3.1). `errors` is this API's extension member: one entry per invalid
 * field, as §3 of the RFC suggests. An unexpected error is a 500 whose only detail is an id
 * (`instance`) that the server's log has too: never a message or a stack.
 */
import { randomUUID } from "node:crypto";
import type express from "express";
import type { z } from "zod";
import { todo } from "#shared/todo.ts";
import type { Problem } from "./schemas.ts";

export type ProblemType =
  | "validation"
  | "malformed-json"
  | "unsupported-media-type"
  | "not-acceptable"
  | "method-not-allowed"
  | "not-found"
  | "conflict"
  | "too-large"
  | "precondition-failed"
  | "precondition-required"
  | "idempotency-key-reused"
  | "idempotency-key-in-use"
  | "internal";

/** Where the `type` URIs of this API's problems live: `PROBLEM_TYPE_BASE + "validation"`. */
export const PROBLEM_TYPE_BASE = "https://protocol-course.dev/problems/";

/** The title of each type: "a short, human-readable summary of the problem type" (§3.1.3). */
export const PROBLEM_TITLES: Readonly<Record<ProblemType, string>> = {
  validation: "The request is not valid",
  "malformed-json": "The body is not JSON",
  "unsupported-media-type": "Unsupported media type",
  "not-acceptable": "No acceptable representation",
  "method-not-allowed": "Method not allowed",
  "not-found": "Not found",
  conflict: "Conflict with the current state",
  "too-large": "The body is too large",
  "precondition-failed": "Precondition failed",
  "precondition-required": "Precondition required",
  "idempotency-key-reused": "Idempotency key reused",
  "idempotency-key-in-use": "Idempotency key in use",
  internal: "Internal server error",
};

/** One invalid field of a request: a JSON Pointer (RFC 6901) into the body, or a query name. */
export interface InvalidParam {
  pointer: string;
  reason: string;
}

/**
 * An error that becomes a problem document (given). Throw it from a handler: express hands it to
 * the error handler, which answers with its status, headers and document. Until that handler is
 * written (Step 2), express's own answers it, with the right status and headers but an HTML page.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly type: ProblemType;
  readonly title: string;
  readonly detail: string;
  /** Headers the answer must carry, e.g. `{ Allow: "GET, PUT, PATCH, DELETE" }` on a 405. */
  readonly headers: Record<string, string>;
  readonly errors?: InvalidParam[];

  constructor(
    status: number,
    type: ProblemType,
    detail: string,
    extra: { headers?: Record<string, string>; errors?: InvalidParam[] } = {},
  ) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.title = PROBLEM_TITLES[type];
    this.detail = detail;
    this.headers = extra.headers ?? {};
    if (extra.errors !== undefined) this.errors = extra.errors;
  }
}

/**
 * One entry per invalid field, from a zod error. In a body (`where` "body"), each names its field
 * by a JSON Pointer (RFC 6901): `/email`, `/items/0/quantity`, and `""` for the whole document. In
 * a query, by the parameter's name: `limit`.
 */
export function invalidParams(error: z.ZodError, where: "body" | "query" = "body"): InvalidParam[] {
  // TODO: One entry for each issue of the zod error, its path as a JSON Pointer (RFC 6901 §3: each
  // key after a "/", with "~" written "~0" and "/" written "~1"; the whole document is "") in a
  // body, or the parameter's name in a query. An issue of a strict object for unknown members
  // names all of them at once: one entry for each.
  return todo("lesson-08-rest", "invalidParams()", "Step 2");
}

/**
 * The error handler, last in the app (express knows it by its four parameters). An ApiError is
 * answered as its problem; body-parser's refusals are translated into ours; anything else is a bug:
 * logged with a new id, and answered 500 with that id and nothing else.
 */
export function problemHandler(
  log: (error: unknown, id: string) => void,
): express.ErrorRequestHandler {
  return function sendProblem(_error, _req, _res, _next) {
    // TODO: An ApiError: its status and headers, and its problem document (RFC 9457 §3.1): type
    // (PROBLEM_TYPE_BASE and its ProblemType), title, status, detail, and errors when it has them.
    // Served as application/problem+json (§3), never application/json, and for this request
    // only (Cache-Control: no-store).
    // TODO: body-parser's own refusals carry a `type`: "entity.parse.failed" is a body that is not
    // JSON (400 malformed-json), "entity.too.large" one past the limit (413 too-large),
    // "charset.unsupported" and "encoding.unsupported" a body it cannot decode (415). Their
    // messages are the parser's words: say it in yours.
    // TODO: Anything else is a bug of the server's. Log it with a new id (crypto.randomUUID()) and
    // answer 500 "internal" whose instance is urn:error:<id>, and whose detail says nothing of the
    // error: no message, no stack (RFC 9457 §5, "Security Considerations").
    // TODO: If the head was already sent, nothing can be answered any more: next(error), and
    // express ends the connection.
    return todo("lesson-08-rest", "problemHandler()", "Step 2");
  };
}
