/**
 * The schema of the course's data, in SDL, and the resolvers that read lesson 08's store.
 * `makeExecutableSchema` joins the two: each field of each type gets the resolver of the same
 * name, and a field without one reads the property of that name from its parent object.
 */
import { makeExecutableSchema } from "@graphql-tools/schema";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { UserInputSchema } from "#reference/lesson-08-rest/schemas.ts";
import { StoreError, type Store, type User } from "#reference/lesson-08-rest/store.ts";
import type { Loaders } from "./loaders.ts";

export const typeDefs = /* GraphQL */ `
  type Query {
    user(id: ID!): User
    "Users in id order, a page at a time (the cursor connection pattern)."
    users(first: Int = 20, after: String): UserConnection!
  }

  type Mutation {
    createUser(input: CreateUserInput!): User
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
    total: Float!
    items: [OrderItem!]!
  }

  type OrderItem {
    productName: String!
    quantity: Int!
  }

  type Review {
    id: ID!
    rating: Int!
    comment: String!
  }

  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
  }

  type UserEdge {
    cursor: String!
    node: User!
  }

  type PageInfo {
    hasNextPage: Boolean!
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

const encodeCursor = (id: string): string => Buffer.from(`user:${id}`).toString("base64url");
function decodeCursor(cursor: string): string {
  const match = /^user:([0-9]+)$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match?.[1]) {
    throw new GraphQLError(`Invalid cursor ${JSON.stringify(cursor)}`, {
      extensions: { code: "BAD_USER_INPUT", argument: "after" },
    });
  }
  return match[1];
}

function badInput(error: { issues: { path: PropertyKey[]; message: string }[] }): GraphQLError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join(".") ?? "";
  return new GraphQLError(`Invalid input: ${field} ${issue?.message ?? ""}`.trim(), {
    extensions: { code: "BAD_USER_INPUT", field },
  });
}

const resolvers = {
  Query: {
    user: (_: unknown, { id }: { id: string }, { store, loaders }: GraphQLContext) =>
      loaders ? loaders.user.load(id) : (store.getUser(id) ?? null),
    users: (
      _: unknown,
      { first, after }: { first: number; after?: string | null },
      { store }: GraphQLContext,
    ) => {
      if (first < 1 || first > 100) {
        throw new GraphQLError("first is 1 to 100", {
          extensions: { code: "BAD_USER_INPUT", argument: "first" },
        });
      }
      // One more than asked tells whether there is a next page without a count query.
      const users = store.listUsers({
        after: after == null ? undefined : decodeCursor(after),
        limit: first + 1,
      });
      const page = users.slice(0, first);
      return {
        edges: page.map((node) => ({ cursor: encodeCursor(node.id), node })),
        pageInfo: {
          hasNextPage: users.length > first,
          endCursor: page.length > 0 ? encodeCursor((page.at(-1) as User).id) : null,
        },
      };
    },
  },
  Mutation: {
    createUser: (_: unknown, { input }: { input: unknown }, { store }: GraphQLContext) => {
      const parsed = UserInputSchema.safeParse(input);
      if (!parsed.success) throw badInput(parsed.error);
      try {
        return store.createUser(parsed.data);
      } catch (error) {
        if (error instanceof StoreError && error.code === "STORE_EMAIL_TAKEN") {
          throw new GraphQLError(`Email ${JSON.stringify(parsed.data.email)} is taken`, {
            extensions: { code: "EMAIL_TAKEN", field: "email" },
          });
        }
        throw error;
      }
    },
    addReview: (
      _: unknown,
      { userId, input }: { userId: string; input: { rating: number; comment: string } },
      { store }: GraphQLContext,
    ) => {
      if (input.rating < 1 || input.rating > 5) {
        throw new GraphQLError(`rating is 1 to 5, not ${input.rating}`, {
          extensions: { code: "BAD_USER_INPUT", field: "rating" },
        });
      }
      try {
        return store.addReview(userId, input);
      } catch (error) {
        if (error instanceof StoreError && error.code === "STORE_NO_SUCH_USER") {
          throw new GraphQLError(`No user ${JSON.stringify(userId)}`, {
            extensions: { code: "NOT_FOUND", argument: "userId" },
          });
        }
        throw error;
      }
    },
  },
  User: {
    orders: async (user: User, { last }: { last?: number | null }, ctx: GraphQLContext) => {
      const options = { last: last ?? undefined };
      if (!ctx.loaders) return ctx.store.ordersOf(user.id, options);
      const all = await ctx.loaders.ordersByUser.load(user.id);
      return last == null ? all : all.slice(Math.max(0, all.length - last));
    },
    reviews: (user: User, _: unknown, ctx: GraphQLContext) =>
      ctx.loaders ? ctx.loaders.reviewsByUser.load(user.id) : ctx.store.reviewsOf(user.id),
  },
};

/** The executable schema: the SDL above with its resolvers. */
export function createSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs, resolvers });
}
