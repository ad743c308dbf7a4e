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
  return http.createServer(createApp(options));
}

/** What the handlers share: the feed and the limits. */
interface FeedContext {
  feed: MessageFeed;
  maxWaitMs: number;
  batchLimit: number;
  maxWaiters: number;
}

/** The express application: the routes, then the error handlers, in order. */
export function createApp(options: ServerOptions = {}): express.Express {
  const { feed = new MessageFeed(), maxBodyBytes, ...limits } = { ...DEFAULTS, ...options };
  checkLimits({ ...limits, maxBodyBytes });
  const context: FeedContext = { feed, ...limits };

  const app = express();
  app.disable("x-powered-by");
  // A poll's answer is for one moment and nothing may reuse it: no ETag (express adds one).
  app.set("etag", false);

  // Any JSON value gets through the parser (strict: false): zod decides what a message is, so
  // that `"hi"` is refused as FEED_BAD_MESSAGE, not as "not JSON".
  const json = express.json({ limit: maxBodyBytes, strict: false });
  app.post("/messages", requireJson, json, (req, res) => postMessage(context, req, res));
  app.get("/messages", (req, res) => getMessages(context, req, res));
  app.all("/messages", methodNotAllowed);
  app.use(notFound);
  app.use(sendError);
  return app;
}

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

/** POST /messages: validate, append, answer 201 with the stored message. */
function postMessage({ feed }: FeedContext, req: Request, res: Response): void {
  const message = feed.append(parseMessageInput(req.body));
  res.status(201).json(message);
}

/**
 * GET /messages: a short poll, or (with `wait`) a long poll. Express routes HEAD here too, and a
 * HEAD with `wait` is held like a GET: RFC 9110 §9.3.2, "the HEAD method is identical to GET except
 * that the server MUST NOT send content in the response", and when to answer is not content.
 */
async function getMessages(context: FeedContext, req: Request, res: Response): Promise<void> {
  const { feed } = context;
  const { after, wait } = parsePollQuery(req.query);
  // Each answer is for one cursor at one moment: no cache on the way may keep it (RFC 9111 §5.2.2.5).
  // That goes for a 410 too, which is "heuristically cacheable" (RFC 9110 §15.5.11).
  res.set("Cache-Control", "no-store");
  if (after > feed.lastId) {
    // A cursor this feed never handed out: it comes from an earlier run of the server (the store
    // is in memory, and ids start again at 1). Waiting for that id would skip every message of
    // this run up to it without a word; it is as stale as a cursor that fell behind.
    throw new FeedError(
      "FEED_CURSOR_EXPIRED",
      `Cursor ${after} is ahead of the newest message, ${feed.lastId}: it is from another run`,
      { status: 410, oldestId: feed.oldestId },
    );
  }
  if (after < feed.oldestId - 1) {
    // The messages just after the cursor were dropped (the store is capped). Answering with what
    // is kept would lose them without a word; say so, and where the feed now starts. RFC 9110
    // §15.5.11: 410 Gone, "access to the target resource is no longer available at the origin
    // server and [...] this condition is likely to be permanent".
    throw new FeedError(
      "FEED_CURSOR_EXPIRED",
      `Messages after ${after} are gone: the oldest kept is ${feed.oldestId}`,
      { status: 410, oldestId: feed.oldestId },
    );
  }
  if (wait !== undefined) return holdPoll(context, after, wait, res);
  // A short poll: whatever is newer than the cursor now, possibly nothing.
  sendBatch(context, res, feed.after(after, context.batchLimit));
}

/** A long poll: answer now if there is news, else hold the request until news or the wait's end. */
async function holdPoll(
  context: FeedContext,
  after: number,
  wait: number,
  res: Response,
): Promise<void> {
  const { feed, maxWaitMs, batchLimit, maxWaiters } = context;
  // The wait is capped, and every answer to the long poll says what was applied.
  const waitMs = Math.min(wait, maxWaitMs);

  const ready = feed.after(after, batchLimit);
  if (ready.length > 0) {
    // The cursor is behind: answer at once, like a short poll.
    res.set("Poll-Wait-Ms", String(waitMs));
    sendBatch(context, res, ready);
    return;
  }
  if (feed.waiting >= maxWaiters) {
    // Every held request is an open connection: the number held is capped like any buffer. This
    // poll is refused, not held, so no wait was applied: no Poll-Wait-Ms.
    res.set("Retry-After", "1");
    throw new FeedError("FEED_TOO_MANY_WAITERS", `${feed.waiting} long polls are waiting`, {
      status: 503,
    });
  }
  res.set("Poll-Wait-Ms", String(waitMs));

  // Hold the request. The response emits "close" when it has been sent, or when the connection
  // is gone before that: a client that went away. Either way the wait is over: abort it, which
  // removes the waiter and clears its timer.
  const gone = new AbortController();
  res.on("close", () => gone.abort());
  const messages = await feed.waitFor(after, {
    timeoutMs: waitMs,
    limit: batchLimit,
    signal: gone.signal,
  });
  if (gone.signal.aborted) return; // nobody left to answer
  if (messages.length === 0) {
    // The wait ended with no news. RFC 9110 §15.3.5: 204 "indicates that the server has
    // successfully fulfilled the request and that there is no additional content to send".
    res.status(204).end();
    return;
  }
  sendBatch(context, res, messages);
}

/** 200 with a batch; `more` tells the client to ask again now rather than after a pause. */
function sendBatch({ feed }: FeedContext, res: Response, messages: Message[]): void {
  const last = messages.at(-1);
  res.json({ messages, more: last !== undefined && last.id < feed.lastId });
}

/** express.json() skips a body that is not JSON; it should be refused instead. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  // An empty body is a missing message, for postMessage to refuse (400), not a body of the wrong
  // type (415). req.is() is null for a request with neither Content-Length nor Transfer-Encoding
  // (RFC 9112 §6.3: its body has length zero), but it counts `Content-Length: 0`, which fetch()
  // sends for a POST without a body, as a body: check that one by hand.
  const empty = req.get("Content-Length") === "0";
  if (empty || req.is("application/json") !== false) return next();
  const type = req.get("Content-Type");
  throw new FeedError(
    "FEED_UNSUPPORTED_MEDIA_TYPE",
    `The body must be application/json, not ${type === undefined ? "absent" : JSON.stringify(type)}`,
    { status: 415 },
  );
}

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

/**
 * The error handler (express knows it by its four parameters): a FeedError is answered with its
 * status and code; body-parser's own errors are translated into ours; anything else is a bug, logged
 * and answered 500, and the server goes on serving everyone else.
 */
function sendError(error: unknown, req: Request, res: Response, next: NextFunction): void {
  // Too late to answer (the head is gone): let express end the connection.
  if (res.headersSent) return next(error);
  const feedError = asFeedError(error);
  if (feedError?.status === undefined) {
    console.error(`${req.method} ${req.originalUrl} failed:`, error);
    res.status(500).json({ code: "FEED_INTERNAL", error: "Internal server error" });
    return;
  }
  // JSON leaves out a property whose value is undefined: `field` and `oldestId` only when set.
  const { status, code, message, field, oldestId } = feedError;
  res.status(status).json({ code, error: message, field, oldestId });
}

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
