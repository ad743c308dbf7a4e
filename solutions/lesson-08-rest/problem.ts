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
  const params: InvalidParam[] = [];
  for (const issue of error.issues) {
    // A strict object reports every unknown member in one issue: one entry for each of them.
    const fields =
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => [...issue.path, key])
        : [issue.path];
    const reason =
      issue.code === "unrecognized_keys" ? "is not a field of this resource" : issue.message;
    for (const path of fields) params.push({ pointer: pointerTo(path, where), reason });
  }
  return params;
}

function pointerTo(path: readonly PropertyKey[], where: "body" | "query"): string {
  if (where === "query") return path.map(String).join(".");
  // RFC 6901 §3: "~" is written "~0" and "/" is written "~1", in that order.
  return path.map((key) => `/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * The error handler, last in the app (express knows it by its four parameters). An ApiError is
 * answered as its problem; body-parser's refusals are translated into ours; anything else is a bug:
 * logged with a new id, and answered 500 with that id and nothing else.
 */
export function problemHandler(
  log: (error: unknown, id: string) => void,
): express.ErrorRequestHandler {
  return function sendProblem(error, _req, res, next) {
    const known = asApiError(error);
    if (known === undefined) {
      const id = randomUUID();
      log(error, id);
      // The head is gone: nothing can be said any more. express ends the connection.
      if (res.headersSent) return next(error);
      send(res, {
        type: PROBLEM_TYPE_BASE + "internal",
        title: PROBLEM_TITLES.internal,
        status: 500,
        detail: "The server failed to answer this request. Quote the instance when reporting it.",
        instance: `urn:error:${id}`,
      });
      return;
    }
    if (res.headersSent) return next(error);
    res.set(known.headers);
    const problem: Problem = {
      type: PROBLEM_TYPE_BASE + known.type,
      title: known.title,
      status: known.status,
      detail: known.detail,
    };
    if (known.errors !== undefined) problem.errors = known.errors;
    send(res, problem);
  };
}

function send(res: express.Response, problem: Problem): void {
  // RFC 9457 §3: "application/problem+json", not application/json, so that a client can tell a
  // problem from a representation without reading it. A problem is about one request: no cache
  // may answer another with it.
  res
    .status(problem.status)
    .set("Cache-Control", "no-store")
    .type("application/problem+json")
    .send(JSON.stringify(problem));
}

/**
 * body-parser refuses with an http-errors object whose `type` says why. Its message is not passed
 * on: it quotes the parser's own words, which are the server's business.
 */
function asApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const { type, limit } = (error ?? {}) as { type?: unknown; limit?: unknown };
  switch (type) {
    case "entity.parse.failed":
      return new ApiError(400, "malformed-json", "The body is not valid JSON (RFC 8259)");
    case "entity.too.large":
      return new ApiError(413, "too-large", `The body is larger than ${String(limit)} bytes`);
    case "charset.unsupported":
      return new ApiError(415, "unsupported-media-type", "The body's charset must be utf-8");
    case "encoding.unsupported":
      return new ApiError(
        415,
        "unsupported-media-type",
        "The body's Content-Encoding is not supported",
        {
          headers: { "Accept-Encoding": "identity" },
        },
      );
    default:
      return undefined;
  }
}
