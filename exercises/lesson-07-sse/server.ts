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
import { todo } from "#shared/todo.ts";
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
  // TODO: The options over SSE_DEFAULTS; the feed they give, or a new MessageFeed. The rest of
  // the options are lesson 05's, for createApp().
  // TODO: An express app without X-Powered-By: GET /events opens a stream (below); Step 4: GET /
  // serves the ticker page, the files in PAGE (express.static()); then lesson 05's whole app,
  // createApp() over the same feed, so that a POST /messages is pushed to every stream too; and
  // last an error handler: a bug before the head was sent is logged (console.error) and answered
  // 500 { code: "SSE_INTERNAL", error: "Internal server error" }, as lesson 05's FEED_INTERNAL
  // (after the head, next(error), and express ends the connection).
  // TODO: The server is an http.Server that also counts its streams (`streams`, and a "streams"
  // event with the new count whenever it changes), whose close() ends every stream (an event
  // stream is never idle: http.Server's close() alone would wait for it forever), and whose
  // finish() ends every stream and answers each GET /events from then on with 204: "a client can
  // be told to stop reconnecting using the HTTP 204 No Content response code" (HTML standard,
  // §9.2.3). Ending a stream is res.end(): its client reads the end of the response, not a reset.
  //
  // TODO: GET /events. Work out everything the stream starts with before the head is committed,
  // so that a bug in it is a 500 and not a stream cut short: the retry line (retryMs), once; then,
  // for a client that sends Last-Event-ID, every message after that id from the feed, oldest first.
  // Without the header (or with it empty), nothing yet: only what comes from now on.
  // TODO: A Last-Event-ID the feed cannot replay from (older than oldestId - 1, ahead of lastId:
  // from another run of the server, or not a whole number at all) would be a silent gap. Say so
  // first, in an event of type "expired" whose data names the oldest id kept, and whose own id is
  // the cursor the replay continues from: the id just before the oldest message kept (oldestId -
  // 1), or 0 on an empty feed. Then the replay from there. A reconnect after it must not come back
  // with the expired id.
  // TODO: The head: 200, Content-Type exactly text/event-stream (an EventSource fails the
  // connection on any other), Cache-Control: no-cache (each event is news once, RFC 9111
  // §5.2.2.4), X-Accel-Buffering: no (a buffering proxy such as nginx passes each write on at
  // once), and sent now (res.flushHeaders()), not with the first event: a client waits for it. A
  // HEAD gets the head and no content (RFC 9110 §9.3.2), so no stream to keep open.
  // TODO: Each message the feed accepts from now on ("message") is written at once as an event:
  // id the feed's id, type "message", data its JSON (JSON has no raw line break: one data line).
  // A comment line as a heartbeat every heartbeatMs keeps proxies from dropping a quiet stream.
  // TODO: A client that does not read lets bytes pile up in the response: when res.write()
  // returns false and res.writableLength is over maxBufferedBytes, drop it (res.destroy()) rather
  // than grow the server without end.
  // TODO: The response emits "close" once it has ended or its client went away. Either way the
  // stream is over: clear its timer, remove its feed listener, stop counting it. A listener left
  // on the feed keeps every gone stream in memory, and writes into it for ever.
  return todo("lesson-07-sse", "createServer()", "Step 2");
}
