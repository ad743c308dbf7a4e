/**
 * The tRPC instance: what every procedure of the router is built from. A first version; Step 1
 * and Step 2 of the lesson complete it (the token middleware, the error formatter).
 */
import { initTRPC, TRPCError } from "@trpc/server";
import type { Store } from "#reference/lesson-08-rest/store.ts";
import type { MessageFeed } from "#reference/lesson-05-polling/feed.ts";

/** What every procedure sees: made anew for each request by `createContext`. */
export interface Context {
  store: Store;
  /** Lesson 05's message feed, which the subscription of Step 4 streams. */
  feed: MessageFeed;
  /** Who the request's bearer token names, or null without a (known) token. */
  user: string | null;
}

const t = initTRPC.context<Context>().create();

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;

/** A procedure only a caller with a token may call: UNAUTHORIZED otherwise. */
export const protectedProcedure = t.procedure.use(({ ctx, next }) => {
  if (ctx.user === null) throw new TRPCError({ code: "UNAUTHORIZED", message: "a token is needed" });
  return next({ ctx: { ...ctx, user: ctx.user } });
});
