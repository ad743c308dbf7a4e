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
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { IdSchema, UserInputSchema } from "#reference/lesson-08-rest/schemas.ts";
import { StoreError, type User } from "#reference/lesson-08-rest/store.ts";
import { feedRouter } from "./feed.ts";
import { protectedProcedure, publicProcedure, router } from "./trpc.ts";

/** One page of `user.list`: `nextCursor` is what to send as `cursor` for the next page. */
export interface UserPage {
  items: User[];
  /** The id of the page's last user when more follow, null on the last page. */
  nextCursor: string | null;
}

export const LIST_DEFAULTS = { limit: 20, maxLimit: 100 } as const;

export const userRouter = router({
  getUser: publicProcedure.input(z.object({ id: IdSchema })).query(({ ctx, input }): User => {
    const user = ctx.store.getUser(input.id);
    // "No such user" is an error with a code, not data: the client's call rejects with
    // NOT_FOUND and the HTTP status is 404, as a REST API's would be.
    if (user === undefined) {
      throw new TRPCError({ code: "NOT_FOUND", message: `No user has the id ${input.id}` });
    }
    return user;
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
      // One more than the page holds: whether it comes says whether there is a next page, which
      // a full page does not prove.
      const users = ctx.store.listUsers({ after: input.cursor, limit: input.limit + 1 });
      const items = users.slice(0, input.limit);
      const more = users.length > input.limit;
      return { items, nextCursor: more ? (items.at(-1)?.id ?? null) : null };
    }),

  createUser: protectedProcedure.input(UserInputSchema).mutation(({ ctx, input }): User => {
    try {
      return ctx.store.createUser(input);
    } catch (error) {
      if (error instanceof StoreError && error.code === "STORE_EMAIL_TAKEN") {
        throw new TRPCError({
          code: "CONFLICT",
          message: `Another user has the email ${input.email}`,
          cause: error,
        });
      }
      throw error;
    }
  }),
});

export const appRouter = router({ user: userRouter, feed: feedRouter });

/** The router's type: all a client needs to know of the server (Step 3). */
export type AppRouter = typeof appRouter;
