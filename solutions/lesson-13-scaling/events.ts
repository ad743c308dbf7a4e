/**
 * Step 4: lesson 07's event stream, its history in a Redis Stream, so that any instance can replay
 * what a client missed, whichever instance it was on before.
 *
 *   POST /messages {author, text}  ──► XADD events MAXLEN ~ 1000 * message {...}  ──► 201, id
 *                                                       │
 *   one reader per instance: XREAD BLOCK 5000 STREAMS events <last id seen>
 *                                                       │ each entry, to every open stream here
 *   GET /events                                         ▼
 *     Last-Event-ID: 1733140000000-3 ──► XRANGE events (1733140000000-3 + ──► replay, then live
 *
 * The stream's entry ids are the events' ids: `<ms>-<seq>`, growing, the same on every instance.
 * So a client that was on instance a, and comes back through HAProxy to instance b with the last
 * id it got, resumes exactly after it. Replay and live meet without a gap or a repeat: a stream
 * listens to the reader before it asks for the replay, and the ids say which events it has sent.
 */
import type http from "node:http";
import { Redis } from "ioredis";
import { parseMessageInput } from "#reference/lesson-05-polling/schema.ts";
import { formatComment, formatEvent, formatRetry } from "#reference/lesson-07-sse/format.ts";

export interface EventStreamOptions {
  /** This instance's name. */
  instance: string;
  /** Where Redis is, as ioredis takes it: `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** The Redis key of the stream; one stream for the whole cluster. */
  key?: string;
  /** About how many messages the stream keeps (`MAXLEN ~`): older ones cannot be replayed. */
  maxMessages?: number;
  /** The reconnection time sent at the start of each event stream (ms). */
  retryMs?: number;
  /** How often a quiet event stream gets a comment (ms). */
  heartbeatMs?: number;
}

export interface ClusterEventStream {
  /** Answers GET /events and POST /messages; anything else 404. */
  handle(request: http.IncomingMessage, response: http.ServerResponse): void;
  /** Ends every open stream and this instance's Redis connections. */
  close(): Promise<void>;
}

/** A message as it is stored and sent: lesson 05's, with the stream entry's id. */
export interface StreamMessage {
  id: string;
  author: string;
  text: string;
  at: string;
}

export const EVENT_DEFAULTS = {
  key: "lesson-13:events",
  maxMessages: 1_000,
  retryMs: 1_000,
  heartbeatMs: 15_000,
} as const;

/** The most a POST body may hold: lesson 05's message is far smaller. */
const MAX_BODY_BYTES = 16 * 1024;
/** How long one XREAD waits for an entry before it asks again (ms). */
const BLOCK_MS = 5_000;
/** A stream entry's id, as Redis writes it: milliseconds, a dash, a sequence number. */
const ENTRY_ID = /^(\d{1,20})-(\d{1,20})$/;

/** One open event stream. "replaying" until its replay is written; live events wait meanwhile. */
interface Stream {
  readonly res: http.ServerResponse;
  state: "replaying" | "open" | "closed";
  /** The id of the last event written: a live event at or before it is not written again. */
  lastId: string;
  /** Live events that came while the replay was read. */
  readonly waiting: StreamMessage[];
  readonly heartbeat: NodeJS.Timeout;
}

interface Context {
  readonly settings: Required<EventStreamOptions>;
  /** Commands: XADD, XRANGE, XINFO. Fails at once while Redis is away: a POST answers 503. */
  readonly redis: Redis;
  /** The one blocking reader of this instance. A connection in XREAD BLOCK can do nothing else. */
  readonly reader: Redis;
  readonly streams: Set<Stream>;
  /** Settles once the reader knows where it starts: no stream opens before. */
  readonly reading: Promise<void>;
  state: "open" | "closed";
}

export function createEventStream(options: EventStreamOptions): ClusterEventStream {
  const settings = { ...EVENT_DEFAULTS, ...options };
  let started = () => {};
  const reading = new Promise<void>((resolve) => (started = resolve));
  const context: Context = {
    settings,
    // Commands wait for the first connection; after it, no offline queue: a command sent while
    // Redis is away fails now (a POST answers 503) rather than wait for it to come back.
    redis: new Redis(settings.redisUrl, { maxRetriesPerRequest: 0 }),
    reader: new Redis(settings.redisUrl, { maxRetriesPerRequest: null }),
    streams: new Set(),
    reading,
    state: "open",
  };
  // ioredis reports each failed reconnection; it goes on trying, which is all there is to do.
  context.redis.on("error", () => {});
  context.redis.once("ready", () => {
    context.redis.options.enableOfflineQueue = false;
  });
  context.reader.on("error", () => {});
  void readLive(context, started);
  return {
    handle: (request, response) => void handle(context, request, response),
    close: () => close(context),
  };
}

async function handle(
  context: Context,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const { pathname } = new URL(request.url ?? "/", "http://localhost");
  try {
    if (pathname === "/events" && request.method === "GET")
      await openStream(context, request, response);
    else if (pathname === "/messages" && request.method === "POST")
      await post(context, request, response);
    else if (pathname === "/events" || pathname === "/messages") {
      problem(response, 405, "EVENTS_METHOD_NOT_ALLOWED", `${request.method} is not allowed here`);
    } else problem(response, 404, "EVENTS_NOT_FOUND", `No resource at ${pathname}`);
  } catch (error) {
    // Redis refused or is away: say so, and the client may try again (RFC 9110 §15.6.4).
    if (!response.headersSent) {
      problem(
        response,
        503,
        "EVENTS_UNAVAILABLE",
        `The message store is unavailable: ${(error as Error).message}`,
      );
    } else response.destroy();
  }
}

/** POST /messages: a message into the stream, answered with its id. */
async function post(
  context: Context,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(request));
  } catch (error) {
    const tooLarge = (error as Error).message === "too large";
    if (tooLarge)
      return problem(
        response,
        413,
        "EVENTS_BODY_TOO_LARGE",
        `A message body is at most ${MAX_BODY_BYTES} bytes`,
      );
    return problem(response, 400, "EVENTS_BAD_JSON", "The body is not JSON");
  }
  let input: { author: string; text: string };
  try {
    input = parseMessageInput(body);
  } catch (error) {
    return problem(response, 400, "EVENTS_BAD_MESSAGE", (error as Error).message);
  }
  const at = new Date().toISOString();
  const { key, maxMessages } = context.settings;
  // MAXLEN ~: trim to about maxMessages, in whole nodes of the stream, which is cheap (Redis docs,
  // XADD, "Capped streams"). `*`: Redis picks the id, greater than every id before it.
  const id = await context.redis.xadd(
    key,
    "MAXLEN",
    "~",
    maxMessages,
    "*",
    "author",
    input.author,
    "text",
    input.text,
    "at",
    at,
  );
  const message: StreamMessage = { id: id as string, author: input.author, text: input.text, at };
  response.writeHead(201, { "Content-Type": "application/json" });
  response.end(JSON.stringify(message));
}

/** GET /events: the head, the retry, what the client missed, then each message as it comes. */
async function openStream(
  context: Context,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const lastEventId = request.headers["last-event-id"];
  // An id that is not one of ours (none, or not `<ms>-<seq>`) is a first connection: live only.
  const from =
    typeof lastEventId === "string" && ENTRY_ID.test(lastEventId) ? lastEventId : undefined;
  const stream: Stream = {
    res: response,
    state: "replaying",
    lastId: from ?? "0-0",
    waiting: [],
    heartbeat: setInterval(
      () => write(stream, formatComment("heartbeat")),
      context.settings.heartbeatMs,
    ),
  };
  // Listen first, read the history second: an event added in between is in both, and the ids
  // keep it from being written twice.
  context.streams.add(stream);
  // And listen to a reader that is reading: one that has not asked Redis yet would miss what is
  // added before it does.
  await context.reading;
  response.on("close", () => release(context, stream));

  let first = formatRetry(context.settings.retryMs);
  if (from !== undefined) {
    try {
      first += await replay(context, stream, from);
    } catch {
      // Redis is away: nothing to replay from. An error status would make an EventSource give up
      // for good (HTML standard, "fail the connection"); an empty stream that ends makes it come
      // back after `retry` ms with the same Last-Event-ID, by when Redis may be back.
      release(context, stream);
      response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      response.end(first);
      return;
    }
  }
  if (stream.state === "closed") return;
  response.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
  });
  response.flushHeaders();
  write(stream, first);
  stream.state = "open";
  for (const message of stream.waiting.splice(0)) deliver(stream, message);
}

/** The events after `from`, formatted, with an `expired` event first if some were trimmed away. */
async function replay(context: Context, stream: Stream, from: string): Promise<string> {
  let text = "";
  const { key } = context.settings;
  const info = (await context.redis.call("XINFO", "STREAM", key).catch(() => undefined)) as
    unknown[] | undefined;
  // Trimming takes the oldest entries: once some are gone (more were added than are kept), an id
  // older than the first one kept may have had entries after it that cannot be replayed. Say so
  // first. (The one case this calls expired wrongly: an id that was the very last entry trimmed.
  // An expired event too many, never one too few.)
  const trimmed = info
    ? Number(fieldOf(info, "entries-added")) > Number(fieldOf(info, "length"))
    : false;
  const firstKept = info ? fieldOf(info, "recorded-first-entry-id") : undefined;
  if (trimmed && typeof firstKept === "string" && compareIds(firstKept, from) > 0) {
    text += formatEvent({
      event: "expired",
      data: JSON.stringify({ code: "EVENTS_EXPIRED", lastEventId: from, oldestId: firstKept }),
    });
  }
  // "(" makes the start exclusive: the client has `from` already (XRANGE, Redis 6.2).
  const entries = await context.redis.xrange(key, `(${from}`, "+");
  for (const [id, fields] of entries) {
    text += messageEvent(toMessage(id, fields));
    stream.lastId = id;
  }
  return text;
}

/** This instance's one reader: every new entry, to every open stream here, in order. */
async function readLive(context: Context, started: () => void): Promise<void> {
  const { key } = context.settings;
  // Where to start: after the stream's last entry now. Not "$" in the first XREAD, which means
  // "after the last entry when this XREAD arrives": a message posted before it arrived, once a
  // stream here was open, would be missed. (ioredis holds this until the reader is connected.)
  let lastId = "0-0";
  while (context.state === "open") {
    try {
      const [last] = await context.reader.xrevrange(key, "+", "-", "COUNT", 1);
      lastId = last?.[0] ?? "0-0";
      break;
    } catch {
      if (context.state !== "open") break;
      await new Promise((resolve) => context.reader.once("ready", resolve));
    }
  }
  started();
  while (context.state === "open") {
    let reply: [string, [string, string[]][]][] | null;
    try {
      reply = (await context.reader.xread(
        "BLOCK",
        BLOCK_MS,
        "STREAMS",
        key,
        lastId,
      )) as typeof reply;
    } catch {
      // Redis went away (or the connection was closed). ioredis reconnects; ask again once it has.
      if (context.state !== "open") return;
      await new Promise((resolve) => context.reader.once("ready", resolve));
      continue;
    }
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        lastId = id;
        const message = toMessage(id, fields);
        for (const stream of context.streams) deliver(stream, message);
      }
    }
  }
}

function deliver(stream: Stream, message: StreamMessage): void {
  if (stream.state === "replaying") stream.waiting.push(message);
  else if (stream.state === "open" && compareIds(message.id, stream.lastId) > 0) {
    write(stream, messageEvent(message));
    stream.lastId = message.id;
  }
}

function write(stream: Stream, chunk: string): void {
  if (stream.state !== "closed" && stream.res.headersSent) stream.res.write(chunk);
}

function release(context: Context, stream: Stream): void {
  stream.state = "closed";
  clearInterval(stream.heartbeat);
  context.streams.delete(stream);
}

async function close(context: Context): Promise<void> {
  if (context.state === "closed") return;
  context.state = "closed";
  for (const stream of context.streams) {
    stream.res.end();
    release(context, stream);
  }
  context.reader.disconnect();
  await context.redis.quit().catch(() => context.redis.disconnect());
}

function messageEvent(message: StreamMessage): string {
  return formatEvent({ id: message.id, event: "message", data: JSON.stringify(message) });
}

function toMessage(id: string, fields: string[]): StreamMessage {
  const value = (name: string) => fields[fields.indexOf(name) + 1] ?? "";
  return { id, author: value("author"), text: value("text"), at: value("at") };
}

/** XINFO answers a flat list of names and values. */
function fieldOf(reply: unknown[], name: string): unknown {
  const at = reply.indexOf(name);
  return at === -1 ? undefined : reply[at + 1];
}

/**
 * Stream ids compared as Redis compares them: milliseconds first, then sequence, both as whole
 * numbers of up to 64 bits (BigInt: a Number loses digits past 2^53; strings sort "9" after "10").
 */
export function compareIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms > 0n ? 1 : -1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq > 0n ? 1 : -1;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("too large"));
        request.resume();
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** A problem details body (RFC 9457), as lessons 05 and 08 answer. */
function problem(
  response: http.ServerResponse,
  status: number,
  code: string,
  detail: string,
): void {
  response.writeHead(status, { "Content-Type": "application/problem+json" });
  response.end(JSON.stringify({ type: "about:blank", status, code, detail }));
}
