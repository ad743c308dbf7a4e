/**
 * The router: the table of procedures a client may call, by name.
 *
 *   user.getUser     query      { id }                 -> User           NOT_FOUND: no such user
 *   user.list        query      { limit?, cursor? }    -> a page of users
 *   user.createUser  mutation   { name, email }        -> User           UNAUTHORIZED: no token
 *                                                                        CONFLICT: email taken
 *   feed.*           Step 4's subscription (feed.ts)
 *
 * A query reads and may be sent as a GET; a mutation writes and is always a POST. Each input is a
 * zod schema, lesson 08's own: tRPC parses the input with it before the resolver runs, and the
 * resolver gets the parsed value, typed. The client gets its types from `AppRouter` alone.
 */
import { z } from "zod";
import { IdSchema, UserInputSchema } from "#reference/lesson-08-rest/schemas.ts";
import type { User } from "#reference/lesson-08-rest/store.ts";
import { todo } from "#shared/todo.ts";
import { feedRouter } from "./feed.ts";
import { protectedProcedure, publicProcedure, router } from "./trpc.ts";

/** One page of `user.list`: `nextCursor` is what to send as `cursor` for the next page. */
export interface UserPage {
  items: User[];
  /** The id of the page's last user when more follow, null on the last page. */
  nextCursor: string | null;
}

export const LIST_DEFAULTS = { limit: 20, maxLimit: 100 } as const;

// The procedures are given with their inputs and output types, so that the router exists when
// this file loads (tRPC builds it then) and a client's types are right from the start; their
// resolvers are yours.
export const userRouter = router({
  getUser: publicProcedure.input(z.object({ id: IdSchema })).query(({ ctx, input }): User => {
    // TODO: The store's user with this id. A user the store does not have is an error, not data:
    // TRPCError NOT_FOUND, which tRPC sends as HTTP 404 (as RFC 9110 §15.5.5 has it for a REST
    // resource).
    return todo("lesson-11-trpc", "user.getUser()", "Step 1");
  }),

  list: publicProcedure
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(LIST_DEFAULTS.maxLimit).default(LIST_DEFAULTS.limit),
          /** The nextCursor of the page before: the id of its last user. */
          cursor: IdSchema.optional(),
        })
        .default({ limit: LIST_DEFAULTS.limit }),
    )
    .query(({ ctx, input }): UserPage => {
      // TODO: At most limit users in id order, those after the user named by cursor (from the
      // first user without one). nextCursor names the page's last user when another user
      // follows it, and is null on the last page: a full page does not prove there is another.
      return todo("lesson-11-trpc", "user.list()", "Step 1");
    }),

  createUser: protectedProcedure.input(UserInputSchema).mutation(({ ctx, input }): User => {
    // TODO: The user the store creates from the parsed input (zod has trimmed the name). An email
    // another user has (the store throws StoreError STORE_EMAIL_TAKEN) is TRPCError CONFLICT,
    // HTTP 409 (RFC 9110 §15.5.10); any other error is a bug, and goes on as it is.
    return todo("lesson-11-trpc", "user.createUser()", "Step 1");
  }),
});

export const appRouter = router({ user: userRouter, feed: feedRouter });

/** The router's type: all a client needs to know of the server (Step 3). */
export type AppRouter = typeof appRouter;
