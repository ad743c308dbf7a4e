/**
 * Lesson 05's message feed, pushed: the same express app (POST /messages, GET /messages), plus
 *
 *   GET /events    one long response, Content-Type: text/event-stream, that the server writes each
 *                  message into as the feed accepts it:
 *
 *                    retry: 2000            once, first: how long a client waits to reconnect
 *
 *                    id: 4                  the feed's id: the client's Last-Event-ID
 *                    event: message
 *                    data: {"id":4,"author":"ada","text":"hi","at":"..."}
 *
 *                    : heartbeat            a comment, every heartbeatMs, on a quiet stream
 *
 *   GET /          the live-ticker page (lessons/lesson-07-sse/page/), for the browser's EventSource
 *
 * A client that reconnects with `Last-Event-ID: 3` gets every message after 3 from the feed first;
 * an id the feed no longer covers gets an `expired` event that says so. createServer() returns an
 * unstarted server, so `npm run serve` can start it with no arguments.
 */
import http from "node:http";
import path from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { MessageFeed, type Message } from "#reference/lesson-05-polling/feed.ts";
import { createApp, type ServerOptions } from "#reference/lesson-05-polling/server.ts";
import { formatComment, formatEvent, formatRetry } from "./format.ts";

export interface SseServerOptions extends ServerOptions {
  /** The reconnection time sent once at the start of each stream (ms). */
  retryMs?: number;
  /** How often a quiet stream gets a comment line (ms). */
  heartbeatMs?: number;
  /** The most bytes a stream may have waiting to be sent; a client further behind is dropped. */
  maxBufferedBytes?: number;
}

export const SSE_DEFAULTS = {
  retryMs: 2_000,
  // Below the 30 to 60 s after which proxies commonly drop a connection that has gone silent
  // (lesson 05, "Why the wait is capped below 30 s").
  heartbeatMs: 15_000,
  // Room for a whole replay: the feed keeps 1,000 messages of at most about 700 bytes each.
  maxBufferedBytes: 1024 * 1024,
} satisfies Required<Pick<SseServerOptions, "retryMs" | "heartbeatMs" | "maxBufferedBytes">>;

/** The HTTP server, with the count of its open event streams. */
export interface EventStreamServer extends http.Server {
  /** The event streams open now. The server emits "streams" with the new count when it changes. */
  readonly streams: number;
  /**
   * Stops taking connections, as http.Server's close() does, and ends every event stream. Their
   * clients reconnect after `retry` ms (to the server's next run, say) with Last-Event-ID.
   */
  close(callback?: (error?: Error) => void): this;
  /**
   * The feed is over: ends every event stream, and answers each GET /events from now on with
   * 204 No Content, which tells a client to stop reconnecting. The rest goes on being served.
   */
  finish(): void;
}

/** One open event stream: the response it is written into, and what it holds. */
interface Stream {
  res: Response;
  /** "open" while events are written; "closing" once the server has ended it; then "closed". */
  state: "open" | "closing" | "closed";
  heartbeat: NodeJS.Timeout;
  onMessage: (message: Message) => void;
}

/** What the handlers share: the feed, the limits, and the open streams. */
interface StreamContext {
  feed: MessageFeed;
  retryMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  streams: Set<Stream>;
  /** "finished" once finish() was called: no more streams, a 204 instead. */
  state: "serving" | "finished";
  /** Tells the server's listeners the new count of streams. */
  counted: (count: number) => void;
}

// The ticker page's folder. npm runs every script (serve, test, bench) from the project's root,
// whichever tree the server's code is loaded from.
const PAGE = path.resolve("lessons", "lesson-07-sse", "page");

/** An unstarted server: the event streams, the ticker page, and lesson 05's feed API. */
export function createServer(options: SseServerOptions = {}): EventStreamServer {
  const { retryMs, heartbeatMs, maxBufferedBytes, ...feedOptions } = {
    ...SSE_DEFAULTS,
    ...options,
  };
  const feed = feedOptions.feed ?? new MessageFeed();
  const context: StreamContext = {
    feed,
    retryMs,
    heartbeatMs,
    maxBufferedBytes,
    streams: new Set(),
    state: "serving",
    counted: () => {},
  };

  const app = express();
  app.disable("x-powered-by");
  app.get("/events", (req, res) => openStream(context, req, res));
  app.get("/", express.static(PAGE));
  // Everything else is lesson 05's feed, over the same MessageFeed: a POST is pushed here too.
  app.use(createApp({ ...feedOptions, feed }));
  app.use(sendError);

  const server = new StreamingServer(app, context);
  context.counted = (count) => server.emit("streams", count);
  return server;
}

/** http.Server, with the count of open streams and a close() that ends them. */
class StreamingServer extends http.Server implements EventStreamServer {
  readonly #context: StreamContext;

  constructor(app: express.Express, context: StreamContext) {
    super(app);
    this.#context = context;
  }

  get streams(): number {
    return this.#context.streams.size;
  }

  override close(callback?: (error?: Error) => void): this {
    // An event stream is never idle: close() alone would wait for it forever.
    endStreams(this.#context);
    return super.close(callback);
  }

  finish(): void {
    this.#context.state = "finished";
    endStreams(this.#context);
  }
}

/** Ends every open stream cleanly: its client reads the end of the response, not a reset. */
function endStreams(context: StreamContext): void {
  for (const stream of context.streams) {
    if (stream.state !== "open") continue;
    stream.state = "closing";
    stream.res.end();
  }
}

/** GET /events: the head at once, the retry, the replay, then each message as it comes. */
function openStream(context: StreamContext, req: Request, res: Response): void {
  const { feed } = context;
  if (context.state === "finished") {
    // "Clients will reconnect if the connection is closed; a client can be told to stop
    // reconnecting using the HTTP 204 No Content response code." (HTML standard, §9.2.3)
    res.status(204).end();
    return;
  }
  // Everything the stream starts with is written out before the head is committed: a bug in it is
  // a 500, not a stream cut short.
  const start = resume(feed, req.get("Last-Event-ID"));
  let first = formatRetry(context.retryMs) + start.notice;
  for (const message of feed.after(start.cursor, feed.maxMessages)) first += messageEvent(message);

  res.writeHead(200, {
    // Exactly this type: an EventSource fails the connection on any other.
    "Content-Type": "text/event-stream",
    // Each event is news once: a cache on the way must not answer with an old copy (RFC 9111
    // §5.2.2.4), and a buffering proxy (nginx) must pass each write on as it comes.
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
  });
  // Send the head now, not with the first write: a client waits for it before it reads a byte.
  res.flushHeaders();
  if (req.method === "HEAD") {
    res.end(); // RFC 9110 §9.3.2: the GET's head, no content, and so no stream to keep open
    return;
  }

  const stream: Stream = {
    res,
    state: "open",
    heartbeat: setInterval(
      () => write(context, stream, formatComment("heartbeat")),
      context.heartbeatMs,
    ),
    onMessage: (message) => write(context, stream, messageEvent(message)),
  };
  // The response emits "close" once it has ended, or when its client went away: either way the
  // stream is over, and everything it holds must go with it.
  res.on("close", () => release(context, stream));
  feed.on("message", stream.onMessage);
  context.streams.add(stream);
  context.counted(context.streams.size);
  write(context, stream, first);
}

/** Where a stream starts, and what it must say first if the client's id is not one the feed has. */
function resume(
  feed: MessageFeed,
  lastEventId: string | undefined,
): { cursor: number; notice: string } {
  // A first connection: only what comes from now on.
  if (lastEventId === undefined || lastEventId === "") return { cursor: feed.lastId, notice: "" };
  const id = /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : Number.NaN;
  // Ids from lastId back to oldestId - 1 are cursors this feed can replay from (lesson 05).
  if (id <= feed.lastId && id >= feed.oldestId - 1) return { cursor: id, notice: "" };
  // Older than the feed keeps, from another run of the server (ahead of lastId), or no id of ours:
  // the messages after it cannot be replayed. Say so, then replay from the oldest message kept.
  // The event's own id moves the client's Last-Event-ID to that point, so that a reconnect after
  // it does not come back with the expired one.
  const cursor = feed.oldestId === 0 ? feed.lastId : feed.oldestId - 1;
  const notice = formatEvent({
    id: cursor,
    event: "expired",
    data: JSON.stringify({ code: "FEED_CURSOR_EXPIRED", lastEventId, oldestId: feed.oldestId }),
  });
  return { cursor, notice };
}

function messageEvent(message: Message): string {
  // JSON never holds a raw line break, so a message is one data line.
  return formatEvent({ id: message.id, event: "message", data: JSON.stringify(message) });
}

/**
 * Writes at once: nothing is held back to be sent later. A client that does not read lets the
 * bytes pile up in the response; past maxBufferedBytes it is dropped, rather than grow the server.
 */
function write(context: StreamContext, stream: Stream, chunk: string): void {
  if (stream.state !== "open") return;
  const { res } = stream;
  if (!res.write(chunk) && res.writableLength > context.maxBufferedBytes) res.destroy();
}

/** The stream is over: its timer and its feed listener go, and it is no longer counted. */
function release(context: StreamContext, stream: Stream): void {
  if (stream.state === "closed") return;
  stream.state = "closed";
  clearInterval(stream.heartbeat);
  context.feed.off("message", stream.onMessage);
  context.streams.delete(stream);
  context.counted(context.streams.size);
}

/** A bug before the head was sent: logged, and answered 500. After it, express ends the connection. */
function sendError(error: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(error);
  console.error(`${req.method} ${req.originalUrl} failed:`, error);
  res.status(500).json({ code: "SSE_INTERNAL", error: "Internal server error" });
}
