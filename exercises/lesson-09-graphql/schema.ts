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
  type ReviewInput,
  type Store,
  type User,
  type UserInput,
} from "#reference/lesson-08-rest/store.ts";
import { todo } from "#shared/todo.ts";
import type { Loaders } from "./loaders.ts";

// The types of the source's screen are given; the users connection and the mutations are yours
// to add, as the README's Step 1 lists them (the tests check each field's type and nullability).
export const typeDefs = /* GraphQL */ `
  type Query {
    "The user with this id, or null when there is none."
    user(id: ID!): User
    # TODO: users, the cursor connection of all users in id order (the GraphQL Cursor Connections
    # Specification): a page of at most first users (20 when left out) after the cursor after,
    # as a UserConnection that is never null. Its edges each hold a node, the user, and that
    # user's cursor; its pageInfo says whether there is a next page (hasNextPage) and gives the
    # cursor to ask for it with (endCursor, null on an empty page).
  }

  # TODO: the mutations, createUser(input) and addReview(userId, input), each taking a non-null
  # input type of its own. A mutation's result is nullable (User, Review): a refused one is null
  # beside its error, and the other fields of the same request are still answered (GraphQL spec
  # §6.4.4).

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
`;

/** What every resolver gets as its third argument: made anew for each request. */
export interface GraphQLContext {
  store: Store;
  /** With loaders, the fields of a list are batched (Step 2); without, each is its own query. */
  loaders?: Loaders | undefined;
}

/** The executable schema: the SDL above with its resolvers. */
export function createSchema(): GraphQLSchema {
  // TODO: The SDL joined with its resolvers (@graphql-tools/schema's makeExecutableSchema): a
  // resolver for each field whose value is not the property of the same name on its parent
  // object, that is Query.user, Query.users, Mutation.createUser, Mutation.addReview,
  // User.orders, User.reviews and Review.author (the store's review holds its writer's userId).
  // A resolver gets (parent, args, context), and reads the store in its context.
  // TODO: An error a client can act on is a GraphQLError with extensions.code (GraphQL spec
  // §7.1.2): BAD_USER_INPUT for an argument or input field the rules below refuse, EMAIL_TAKEN
  // for an email another user has (the store throws StoreError STORE_EMAIL_TAKEN), NOT_FOUND for
  // a review of a user the store does not have (STORE_NO_SUCH_USER). Throw it from the field's
  // resolver: the field is null and the error carries its path; nothing else fails.
  // TODO: user(id) is null for an id the store does not have: that is an answer, not an error.
  // TODO: users: first is 1 to 100. A cursor names the last user of a page, not its position
  // (a user deleted before it must not shift the next page), and is opaque to the client; one
  // that is not a cursor of yours is BAD_USER_INPUT. hasNextPage is whether a user follows the
  // page, which a full page does not prove.
  // TODO: createUser: the input as lesson 08's UserInputSchema accepts it (an email, a name that
  // is not empty once trimmed), checked before anything is written. addReview: a rating is 1 to
  // 5 (Int! lets any whole number through).
  // TODO: User.orders(last): the most recent last orders, oldest first; last: 0 is none, a
  // negative last is BAD_USER_INPUT, last left out or null is all of them.
  // TODO (Step 2): When the context has loaders, Query.user, User.orders, User.reviews and
  // Review.author load through them, so that the fields of a list are one batch; without
  // loaders, they query the store directly, as in Step 1.
  return todo("lesson-09-graphql", "createSchema()", "Step 1");
}
