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
import type { TrackedEnvelope } from "@trpc/server";
import { z } from "zod";
import type { Message } from "#reference/lesson-05-polling/feed.ts";
import { protectedProcedure, router } from "./trpc.ts";
import { todo } from "#shared/todo.ts";

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
  post: protectedProcedure.input(PostInputSchema).mutation(({ ctx, input }): Message => {
    // TODO: Append { author: the context's user, text } to the context's feed, and answer the
    // message the feed stored (lesson 05's MessageFeed.append).
    return todo("lesson-11-trpc", "post()", "Step 4");
  }),

  /**
   * Every message after `lastEventId`, then every new one, each as `tracked(String(id), message)`.
   * Protected too: the stream is the feed's readers' as much as the posts are its writers'.
   */
  onMessage: protectedProcedure
    .input(OnMessageInputSchema)
    .subscription(({ ctx, input, signal }): AsyncGenerator<TrackedEnvelope<Message>, void> => {
      // An arrow function cannot yield: this one becomes `async function* ({ ctx, input, signal })`.
      // TODO: An async generator. Each value it yields is one event of the stream; yield every
      // message as tracked(String(message.id), message), so that the event has an id (the HTML
      // standard's "Server-sent events": the `id` field sets the last event ID, which the client
      // sends back as Last-Event-ID when it reconnects). With input.lastEventId, first every
      // message the feed kept after it (lesson 05's cursor), then the live ones, each once; without
      // it, only the live ones. Start listening to the feed before you read what it kept, so that
      // nothing falls in between; the replay is all the feed keeps after the id, not a page. The
      // generator ends when the client goes away (the `signal` of the resolver's options aborts):
      // its `finally` must remove every listener it added, and it runs only once the generator
      // is at a yield or done: a wait for the next message must end when `signal` aborts too, or
      // the client is gone and the generator still waits. The tests count the feed's "message"
      // listeners: one per open stream while it is open, none once its client has gone.
      return todo("lesson-11-trpc", "onMessage()", "Step 4");
    }),
});
