/**
 * Lesson 05's message feed as a tRPC subscription over server-sent events (Step 4).
 *
 *   feed.post({ text })           a mutation: the feed stores the message under its next id
 *   feed.onMessage({ lastEventId })  a subscription: an async generator, one event per message
 *
 *                       replay: feed.after(lastEventId)     live: the feed's "message" events
 *   lastEventId "2" ──► [ 3 ][ 4 ] ──────────────────────► [ 5 ][ 6 ] ...
 *
 * tRPC writes each value the generator yields as one event of a `text/event-stream` response.
 * A value wrapped in `tracked(id, value)` gets an `id:` line, which the client's EventSource keeps
 * and sends back as `Last-Event-ID` when the connection drops and it reconnects; tRPC hands it to
 * the procedure as `input.lastEventId`. That id is lesson 05's cursor, so the subscription resumes
 * where the client was: what the feed kept after it first, then the live messages.
 */
import { on } from "node:events";
import { tracked, type TrackedEnvelope } from "@trpc/server";
import { z } from "zod";
import type { Message } from "#reference/lesson-05-polling/feed.ts";
import { protectedProcedure, router } from "./trpc.ts";

/** What a client posts; the author is whoever the token names, never what the client says. */
export const PostInputSchema = z.object({ text: z.string().min(1).max(1_000) });

/**
 * The subscription's input. `lastEventId` is the id of the last event the client got: digits, as
 * the feed's ids are. The client sends none on its first connection; tRPC fills it in from the
 * `Last-Event-ID` header (or the client's own `lastEventId`) when it reconnects.
 */
export const OnMessageInputSchema = z
  .object({
    lastEventId: z
      .string()
      .regex(/^[0-9]+$/, "an event id is digits")
      .nullish(),
  })
  .optional();

export const feedRouter = router({
  /** Stores a message by the caller (UNAUTHORIZED without a token) and answers it, with its id. */
  post: protectedProcedure
    .input(PostInputSchema)
    .mutation(({ ctx, input }): Message => ctx.feed.append({ author: ctx.user, text: input.text })),

  /**
   * Every message after `lastEventId`, then every new one, each as `tracked(String(id), message)`.
   * Protected too: the stream is the feed's readers' as much as the posts are its writers'.
   */
  onMessage: protectedProcedure.input(OnMessageInputSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }): AsyncGenerator<TrackedEnvelope<Message>, void> {
    const { feed } = ctx;
    // Listen first, then read the replay, in the same turn of the event loop: a message posted
    // while the replay is being sent is buffered by the listener, the replay ends where the
    // buffered messages begin, and none falls in between or comes twice. The signal aborts when
    // the client goes away, which ends a wait for the next message.
    const live = on(feed, "message", { signal });
    try {
      // Without an id this is a first connection: nothing to resume, the stream starts now.
      const lastEventId = input?.lastEventId;
      const replay = lastEventId == null ? [] : feed.after(Number(lastEventId), feed.maxMessages);
      for (const message of replay) yield tracked(String(message.id), message);
      for await (const [message] of live as AsyncIterableIterator<[Message]>) {
        yield tracked(String(message.id), message);
      }
    } finally {
      // However the stream ends (the client unsubscribed, its connection dropped, a bug), the
      // generator's finally runs: closing the iterator removes its listener from the feed. (The
      // aborted signal does as well; the finally also covers a generator returned without it.)
      // A listener left behind would keep every gone client in memory as long as the feed lives.
      await live.return?.();
    }
  }),
});
