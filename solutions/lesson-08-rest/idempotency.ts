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
import { createHash } from "node:crypto";
import type express from "express";
import { ApiError } from "./problem.ts";

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
  const now = options.now ?? Date.now;
  // Keys in the order they were first seen, which is the order they expire in.
  const records = new Map<string, KeyRecord>();

  return function idempotencyKey(req, res, next) {
    const field = req.get("Idempotency-Key");
    if (field === undefined) {
      next();
      return;
    }
    const key = parseKey(field);
    forgetExpired(records, now());

    // A key is unique to a resource and a method: the same key on another route is another key.
    const id = `${req.method} ${req.baseUrl}${req.path} ${key}`;
    const fingerprint = fingerprintOf(req);
    const record = records.get(id);

    if (record !== undefined) {
      // "If there is an attempt to reuse an idempotency key with a different request payload,
      // the resource server SHOULD reply with a HTTP 422 status code."
      if (record.fingerprint !== fingerprint) {
        throw new ApiError(
          422,
          "idempotency-key-reused",
          `Idempotency-Key ${field} was used with another request payload`,
        );
      }
      // "If the request is retried, while the original request is still being processed, the
      // resource server SHOULD reply with an HTTP 409 status code."
      if (record.state === "in-flight") {
        throw new ApiError(
          409,
          "idempotency-key-in-use",
          `A request with Idempotency-Key ${field} is still being processed`,
        );
      }
      replay(res, record.response);
      return;
    }

    const inFlight: KeyRecord = {
      state: "in-flight",
      fingerprint,
      expiresAt: now() + options.ttlMs,
    };
    records.set(id, inFlight);
    recordAnswer(res, (response) => {
      // A 5xx says the attempt failed, not what its answer is: the key is free for a retry.
      if (response.status >= 500) records.delete(id);
      else records.set(id, { ...inFlight, state: "answered", response });
    });
    next();
  };
}

/**
 * The key, compared as it was sent. The draft makes it a Structured Field string (RFC 8941
 * §3.3.3), `"8e03978e-..."` with its quotes; the server only compares keys, so it needs to look
 * no further inside (and a bare token, as some payment APIs send, works the same). An empty key
 * names nothing: 400.
 */
function parseKey(field: string): string {
  if (field === "" || field === '""') {
    throw new ApiError(400, "validation", "Idempotency-Key is empty: a key names one request");
  }
  return field;
}

/**
 * The draft's "idempotency fingerprint": a checksum of the request payload, so that a key reused
 * for another request is told apart from a retry. It runs after the body is parsed, so it hashes
 * the body as the handler sees it.
 */
function fingerprintOf(req: express.Request): string {
  return createHash("sha256")
    .update(JSON.stringify(req.body) ?? "")
    .digest("base64url");
}

function forgetExpired(records: Map<string, KeyRecord>, time: number): void {
  for (const [id, record] of records) {
    if (record.expiresAt > time) break; // the rest were seen later, and expire later
    records.delete(id);
  }
}

/**
 * Keeps a copy of the body the handler writes, and gives the whole response to `done` when the
 * handler ends it: not before, so a retry meanwhile is told "in flight", never half an answer.
 * It is recorded at end(), not on "finish", because a client that hung up never sees "finish",
 * and its retry must still find the answer to the work that was done.
 */
function recordAnswer(res: express.Response, done: (response: StoredResponse) => void): void {
  const chunks: Buffer[] = [];
  // Strings are kept as UTF-8, the encoding express and sendRepresentation write them in.
  const keep = (chunk: unknown): void => {
    if (typeof chunk === "string" || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => express.Response;
  res.write = function (chunk: unknown, ...rest: unknown[]) {
    keep(chunk);
    return write(chunk, ...rest);
  } as express.Response["write"];
  res.end = function (chunk?: unknown, ...rest: unknown[]) {
    keep(chunk);
    // getHeaders() is a copy, its names in lower case (a header's name has no case), and it
    // holds only the headers that were set: none is undefined.
    const headers = res.getHeaders() as StoredResponse["headers"];
    done({ status: res.statusCode, headers, body: Buffer.concat(chunks) });
    return end(chunk, ...rest);
  } as express.Response["end"];
}

/** The stored answer, sent again as it was: the same 201, the same Location, the same bytes. */
function replay(res: express.Response, response: StoredResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(response.body);
}
