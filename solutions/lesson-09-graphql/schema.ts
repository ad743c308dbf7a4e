/**
 * The schema of the course's data, in SDL, and the resolvers that read lesson 08's store.
 * `makeExecutableSchema` joins the two: each field of each type gets the resolver of the same
 * name, and a field without one reads the property of that name from its parent object (an
 * Order's `total` is the store's `order.total`).
 *
 *   { user(id: "123") { name orders(last: 5) { total } } }
 *
 *   Query.user       -> the store's user 123           { id, name, email }
 *     User.name      -> its name property              "Ada Lovelace"
 *     User.orders    -> the store's orders of 123, the last 5
 *       Order.total  -> each order's total property
 *
 * Errors are part of the answer, not the end of it. A resolver that throws makes its field null,
 * and the response gets an error with the field's `path` (GraphQL spec §6.4.4, "Handling Field
 * Errors", and §7.1.2, "Errors"); when the field is non-null, the null goes up to the nearest
 * nullable parent. So every resolver below throws a GraphQLError with an `extensions.code` a
 * client can act on, and the fields that may fail on their own (`user`, `createUser`,
 * `addReview`) are nullable: one refused mutation does not take the others' answers with it.
 */
import { makeExecutableSchema } from "@graphql-tools/schema";
import { GraphQLError, type GraphQLSchema } from "graphql";
import type { z } from "zod";
import { UserInputSchema } from "#reference/lesson-08-rest/schemas.ts";
import {
  StoreError,
  type Review,
  type ReviewInput,
  type Store,
  type User,
  type UserInput,
} from "#reference/lesson-08-rest/store.ts";
import type { Loaders } from "./loaders.ts";

export const typeDefs = /* GraphQL */ `
  type Query {
    "The user with this id, or null when there is none."
    user(id: ID!): User
    "Users in id order, a page at a time: the cursor connection pattern."
    users(first: Int = 20, after: String): UserConnection!
  }

  type Mutation {
    "The new user; null, with an error, when the input is refused."
    createUser(input: CreateUserInput!): User
    "The new review; null, with an error, when the input or the user is refused."
    addReview(userId: ID!, input: AddReviewInput!): Review
  }

  type User {
    id: ID!
    name: String!
    email: String!
    "The user's orders, oldest first; with last, only the most recent ones."
    orders(last: Int): [Order!]!
    reviews: [Review!]!
  }

  type Order {
    id: ID!
    placedAt: String!
    "In euros, to the cent."
    total: Float!
    items: [OrderItem!]!
  }

  type OrderItem {
    productName: String!
    quantity: Int!
  }

  type Review {
    id: ID!
    "1 to 5."
    rating: Int!
    comment: String!
    "Who wrote it: the way back from a review to a user, and so to their reviews again."
    author: User!
  }

  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
  }

  type UserEdge {
    "Where this edge is: pass it as after to get the users that follow it."
    cursor: String!
    node: User!
  }

  type PageInfo {
    hasNextPage: Boolean!
    "The cursor of the page's last edge, null when the page is empty."
    endCursor: String
  }

  input CreateUserInput {
    name: String!
    email: String!
  }

  input AddReviewInput {
    rating: Int!
    comment: String!
  }
`;

/** What every resolver gets as its third argument: made anew for each request. */
export interface GraphQLContext {
  store: Store;
  /** With loaders, the fields of a list are batched (Step 2); without, each is its own query. */
  loaders?: Loaders | undefined;
}

/** The most users one page may ask for. */
const MAX_PAGE = 100;

/** An error in what the client sent, with the argument or input field it is about. */
function badInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", field } });
}

// A cursor names the last user a page showed, not its position: a user deleted or created before
// it between two pages moves every position, but not the users after this one. It is opaque
// (base64url of "user:<id>") so that clients pass it back as it is rather than do arithmetic on it.
const encodeCursor = (id: string): string => Buffer.from(`user:${id}`).toString("base64url");

function decodeCursor(cursor: string): string {
  const match = /^user:([0-9]+)$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match?.[1]) throw badInput(`after: ${JSON.stringify(cursor)} is not a cursor`, "after");
  return match[1];
}

/** zod's first issue as the error of a field: "input.email: Invalid email address". */
function invalidInput(error: z.ZodError, argument: string): GraphQLError {
  const issue = error.issues[0];
  const field = [argument, ...(issue?.path ?? []).map(String)].join(".");
  return badInput(`${field}: ${issue?.message ?? "invalid"}`, field);
}

const resolvers = {
  Query: {
    user(_: unknown, { id }: { id: string }, { store, loaders }: GraphQLContext) {
      return loaders ? loaders.user.load(id) : (store.getUser(id) ?? null);
    },

    users(
      _: unknown,
      { first, after }: { first: number | null; after?: string | null },
      { store }: GraphQLContext,
    ) {
      // `first: null` written out is not the default: the default is for an argument left out.
      if (first === null || first < 1 || first > MAX_PAGE) {
        throw badInput(`first is 1 to ${MAX_PAGE}, not ${first}`, "first");
      }
      // One more than asked tells whether there is a next page, without counting the rest.
      const users = store.listUsers({
        after: after == null ? undefined : decodeCursor(after),
        limit: first + 1,
      });
      const page = users.slice(0, first);
      const last = page.at(-1);
      return {
        edges: page.map((node) => ({ cursor: encodeCursor(node.id), node })),
        pageInfo: {
          hasNextPage: users.length > first,
          endCursor: last ? encodeCursor(last.id) : null,
        },
      };
    },
  },

  Mutation: {
    createUser(_: unknown, { input }: { input: UserInput }, { store }: GraphQLContext) {
      // The SDL has made sure both fields are strings; what a string must look like is ours.
      const parsed = UserInputSchema.safeParse(input);
      if (!parsed.success) throw invalidInput(parsed.error, "input");
      try {
        return store.createUser(parsed.data);
      } catch (error) {
        if (error instanceof StoreError && error.code === "STORE_EMAIL_TAKEN") {
          throw new GraphQLError(`input.email: ${JSON.stringify(parsed.data.email)} is taken`, {
            extensions: { code: "EMAIL_TAKEN", field: "input.email" },
          });
        }
        throw error;
      }
    },

    addReview(
      _: unknown,
      { userId, input }: { userId: string; input: ReviewInput },
      { store }: GraphQLContext,
    ) {
      if (input.rating < 1 || input.rating > 5) {
        throw badInput(`input.rating is 1 to 5, not ${input.rating}`, "input.rating");
      }
      try {
        return store.addReview(userId, input);
      } catch (error) {
        if (error instanceof StoreError && error.code === "STORE_NO_SUCH_USER") {
          throw new GraphQLError(`userId: there is no user ${JSON.stringify(userId)}`, {
            extensions: { code: "NOT_FOUND", field: "userId" },
          });
        }
        throw error;
      }
    },
  },

  User: {
    async orders(user: User, { last }: { last?: number | null }, ctx: GraphQLContext) {
      if (last != null && last < 0) throw badInput(`last is 0 or more, not ${last}`, "last");
      if (!ctx.loaders) return ctx.store.ordersOf(user.id, { last: last ?? undefined });
      // The loader's key is the user alone, so that users asked for different `last`s still share
      // one batch: it loads every order, and each field keeps the most recent `last` of its own.
      const all = await ctx.loaders.ordersByUser.load(user.id);
      return last == null ? all : all.slice(Math.max(0, all.length - last));
    },

    reviews(user: User, _: unknown, ctx: GraphQLContext) {
      return ctx.loaders ? ctx.loaders.reviewsByUser.load(user.id) : ctx.store.reviewsOf(user.id);
    },
  },

  Review: {
    // The store's review holds the id of its writer; the writers of many reviews are one batch.
    author(review: Review, _: unknown, { store, loaders }: GraphQLContext) {
      return loaders ? loaders.user.load(review.userId) : store.getUser(review.userId);
    },
  },
};

/** The executable schema: the SDL above with its resolvers. */
export function createSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs, resolvers });
}
