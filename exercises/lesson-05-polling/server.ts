/**
 * The message feed over HTTP, with express:
 *
 *   POST /messages                          {"author","text"} -> 201 and the stored message
 *   GET  /messages?after=<id>               short poll: 200 {"messages":[...],"more":false}, now
 *   GET  /messages?after=<id>&wait=<ms>     long poll: held until there is news (200) or the
 *                                           wait ends (204 No Content)
 *
 * The feed (feed.ts) holds the messages and the waiting polls; this file only translates between
 * it and HTTP. createServer() returns an unstarted node:http server, so `npm run serve` can start
 * it with no arguments.
 */
import http from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { todo } from "#shared/todo.ts";
import { FeedError, FeedRangeError } from "./errors.ts";
import { MessageFeed, type Message } from "./feed.ts";
import { parseMessageInput, parsePollQuery } from "./schema.ts";

export interface ServerOptions {
  /** The feed to serve; a new, empty one by default. Tests pass theirs to watch `waiting`. */
  feed?: MessageFeed;
  /** The longest a long poll is held (ms). A larger `wait` is cut down to it. */
  maxWaitMs?: number;
  /** The most messages in one response; the client continues from the last id it got. */
  batchLimit?: number;
  /** The most long polls held at once; one more gets 503. */
  maxWaiters?: number;
  /** The largest POST body, in bytes. */
  maxBodyBytes?: number;
}

/**
 * The longest delay setTimeout() keeps: 2^31 - 1 ms, about 24.8 days. A longer one is not kept but
 * replaced by 1 ms (Node warns with a TimeoutOverflowWarning), so a wait over it would end at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULTS = {
  // Below the 30 to 60 s after which proxies and load balancers commonly drop a silent
  // connection: a poll that outlives them ends in an error instead of a clean 204.
  maxWaitMs: 25_000,
  batchLimit: 100,
  maxWaiters: 1_000,
  maxBodyBytes: 4 * 1024,
} satisfies Required<Omit<ServerOptions, "feed">>;

/** An unstarted HTTP server for the feed: an express app is a node:http request listener. */
export function createServer(options: ServerOptions = {}): http.Server {
  // TODO: http.createServer() with the app from createApp(options).
  return todo("lesson-05-polling", "createServer()", "Step 2");
}

/**
 * The express application: the routes, then the error handler, in order. Express routes HEAD to
 * the GET route and leaves the body out; a HEAD with `wait` is held like a GET: RFC 9110 §9.3.2,
 * "the HEAD method is identical to GET except that the server MUST NOT send content in the
 * response", and when to answer is not content.
 */
export function createApp(options: ServerOptions = {}): express.Express {
  // TODO: The options over DEFAULTS; a new MessageFeed when none is given. Check the limits with
  // checkLimits() (given), before anything is served.
  // TODO: express(), without the X-Powered-By header. A poll's answer depends on the moment it is
  // asked, and nothing may reuse it: app.set("etag", false) (express adds an ETag by default).
  // TODO: The routes, in this order: POST /messages; GET /messages; any other method on /messages:
  // methodNotAllowed (given); anything else: notFound (given); and last the error handler (express
  // knows it by its four parameters).
  //
  // TODO: POST /messages. A body that is not application/json: FEED_UNSUPPORTED_MEDIA_TYPE (415,
  // RFC 9110 §15.5.16), naming the Content-Type that came (or that none did); without that check,
  // express.json() skips the body and leaves req.body undefined. But an empty body is a missing
  // message (400 below), not a body of the wrong type: req.is("application/json") is null for a
  // request with neither Content-Length nor Transfer-Encoding (RFC 9112 §6.3: its body has length
  // zero), yet it counts `Content-Length: 0`, which fetch() sends for a POST without a body, as a
  // body: let that one through by hand. Then express.json({ limit: maxBodyBytes, strict: false }):
  // any JSON value gets through (strict: false), and zod decides what a message is, so that `"hi"`
  // is refused as FEED_BAD_MESSAGE, not as "not JSON". Then parseMessageInput(req.body) (it throws
  // a FeedError, which express hands to the error handler), append it to the feed, and answer 201
  // with the stored message as JSON.
  //
  // TODO: GET /messages. parsePollQuery(req.query). Each answer is for one cursor at one moment:
  // no cache on the way may keep it (RFC 9111 §5.2.2.5): Cache-Control: no-store. That goes for a
  // 410 too, which is "heuristically cacheable" (RFC 9110 §15.5.11).
  // TODO: A cursor ahead of feed.lastId was never handed out by this feed: it comes from an
  // earlier run of the server (the store is in memory, and ids start again at 1). Waiting for
  // that id would skip every message of this run up to it without a word: refuse it as stale,
  // with the same 410 and FEED_CURSOR_EXPIRED as below.
  // TODO: A cursor below feed.oldestId - 1: the messages just after it were dropped (the store is
  // capped). Answering with what is kept would lose them without a word; say so, and where the
  // feed now starts. RFC 9110 §15.5.11: 410 Gone, "access to the target resource is no longer
  // available at the origin server and [...] this condition is likely to be permanent". Throw a
  // FEED_CURSOR_EXPIRED error with status 410 and the feed's oldestId.
  // TODO: A short poll (no wait): whatever is newer than the cursor now, at most batchLimit
  // messages, possibly none: 200 with { messages, more } as JSON, where more is true when the last
  // message sent is older than the feed's newest.
  //
  // TODO: Step 3: a long poll (a wait). The wait is capped at maxWaitMs, and every answer to the
  // long poll (a 200 or a 204) says what was applied: Poll-Wait-Ms.
  // TODO: Step 3: the cursor is behind (there is news already): answer at once, like a short poll.
  // It needs no slot, so this comes before the cap.
  // TODO: Step 3: every held request is an open connection: the number held is capped like any
  // buffer. With maxWaiters already waiting: Retry-After: 1, and a FEED_TOO_MANY_WAITERS error
  // (503, RFC 9110 §15.6.4). That poll is refused, not held: no wait was applied, no Poll-Wait-Ms.
  // TODO: Step 3: hold the request: feed.waitFor(after, { timeoutMs, limit, signal }). The
  // response emits "close" when it has been sent, or when the connection is gone before that: a
  // client that went away. Either way the wait is over: abort its signal, which removes the
  // waiter and clears its timer. Without that, a gone client's waiter stays until the timeout.
  // TODO: Step 3: aborted: nobody left to answer. No messages: the wait ended with no news,
  // RFC 9110 §15.3.5: 204 "indicates that the server has successfully fulfilled the request and
  // that there is no additional content to send". Otherwise 200 with the batch, as above.
  //
  // TODO: The error handler. Too late to answer (res.headersSent: the head is gone): next(error),
  // and express ends the connection. Otherwise asFeedError(error) (given). None, or one without a
  // status: a bug: log it, and answer 500 { code: "FEED_INTERNAL", error: "Internal server error" },
  // and go on serving everyone else. Otherwise its status, and { code, error: message, field,
  // oldestId } as JSON. JSON leaves out a property whose value is undefined: `field` and
  // `oldestId` only when set.
  return todo("lesson-05-polling", "createApp()", "Step 2");
}

// Given.
/** A limit out of range is the caller's bug: refused at once, before the server takes a request. */
function checkLimits(limits: Required<Omit<ServerOptions, "feed">>): void {
  const ranges = {
    maxWaitMs: [0, MAX_TIMER_MS],
    batchLimit: [1, Number.MAX_SAFE_INTEGER],
    maxWaiters: [0, Number.MAX_SAFE_INTEGER],
    maxBodyBytes: [0, Number.MAX_SAFE_INTEGER],
  } as const;
  for (const [name, [min, max]] of Object.entries(ranges)) {
    const value = limits[name as keyof typeof ranges];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new FeedRangeError(
        `Invalid ${name}: ${JSON.stringify(value)} (a whole number from ${min} to ${max})`,
      );
    }
  }
}

// Given: the 405 and the 404.
function methodNotAllowed(req: Request, res: Response): void {
  // RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field".
  res.set("Allow", "GET, HEAD, POST");
  throw new FeedError("FEED_METHOD_NOT_ALLOWED", `${req.method} is not allowed on /messages`, {
    status: 405,
  });
}

function notFound(req: Request): void {
  throw new FeedError("FEED_NOT_FOUND", `No route for ${req.method} ${req.path}`, { status: 404 });
}

// Given.
/**
 * body-parser reports with an http-errors `type`. It reads off the rest of a refused body before
 * it calls us, so the answer is not lost to a reset from unread bytes (RFC 9112 §9.6, lesson 03).
 */
function asFeedError(error: unknown): FeedError | undefined {
  if (error instanceof FeedError) return error;
  const type = (error as { type?: unknown } | null)?.type;
  const message = (error as Error).message;
  switch (type) {
    case "entity.parse.failed":
      return new FeedError("FEED_BAD_JSON", `The body is not JSON: ${message}`, { status: 400 });
    case "entity.too.large": {
      const limit = (error as { limit?: number }).limit;
      return new FeedError("FEED_BODY_TOO_LARGE", `The body is over ${limit} bytes`, {
        status: 413,
      });
    }
    case "charset.unsupported":
    case "encoding.unsupported":
      return new FeedError("FEED_UNSUPPORTED_MEDIA_TYPE", message, { status: 415 });
    default:
      return undefined;
  }
}
