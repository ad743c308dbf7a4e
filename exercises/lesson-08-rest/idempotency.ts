/**
 * Retries made safe: the Idempotency-Key request header (the IETF httpapi working group's draft,
 * draft-ietf-httpapi-idempotency-key-header, as payment APIs use it).
 *
 * A POST is not idempotent: sent twice, it creates two users. A client whose connection broke
 * before the answer came cannot tell "the server never got it" from "it did the work and the 201
 * was lost", so it cannot safely retry. With a key of its choosing, it can:
 *
 *   POST /users                     201, Location: /users/141      (the first attempt: run)
 *   Idempotency-Key: "b7f1c2..."
 *
 *   POST /users                     201, Location: /users/141      (a retry: the stored answer,
 *   Idempotency-Key: "b7f1c2..."                                    nothing run, nothing created)
 *
 * The server remembers each key, for one method and one resource, with a fingerprint of the
 * request's payload and, once the handler has answered, that answer:
 *
 *   no such key          run the handler; remember its answer when it ends
 *   key, other payload   422: a key names one request, not whatever comes with it
 *   key, still running   409: the first attempt has not answered yet; retry later
 *   key, answered        the same status, headers and body again
 *
 * A key is forgotten `ttlMs` after it was first seen (the draft's "expiry"): the client is told how
 * long it may retry, and the server does not keep every key forever.
 */
import type express from "express";
import { todo } from "#shared/todo.ts";

export interface IdempotencyOptions {
  /** How long a key is remembered after its first request, ms. */
  ttlMs: number;
  /** The clock, in ms (Date.now when absent): a test moves it instead of waiting. */
  now?: () => number;
}

/** A response as it was sent, to send again. */
interface StoredResponse {
  status: number;
  headers: Record<string, number | string | string[]>;
  body: Buffer;
}

/** What the server remembers of one key. */
type KeyRecord =
  | { state: "in-flight"; fingerprint: string; expiresAt: number }
  | { state: "answered"; fingerprint: string; expiresAt: number; response: StoredResponse };

/**
 * express middleware for POST: no key → on; a key seen with the same request → the same status,
 * headers and body again, nothing run; same key, another body → 422; the first still in flight →
 * 409.
 */
export function idempotency(options: IdempotencyOptions): express.RequestHandler {
  // TODO: One memory of KeyRecords for this middleware. For each request with an Idempotency-Key
  // (the draft's "The Idempotency-Key HTTP Request Header Field"; without one, the request goes
  // on as it is): a key belongs to one method and one resource; a key first seen `ttlMs` ago or
  // more is forgotten ("Idempotency Key Validity and Expiry"). A new key is in flight while the
  // handler runs, and its answer (status, headers, body) is kept once the handler has ended the
  // response, unless it is a 5xx, which frees the key for a retry. A known key with another
  // payload fingerprint is ApiError 422 "idempotency-key-reused"; one still in flight is 409
  // "idempotency-key-in-use" ("Error Scenarios"); an answered one gets its answer again, nothing
  // run.
  return function idempotencyKey(_req, _res, _next) {
    return todo("lesson-08-rest", "idempotency()", "Step 4");
  };
}
