/**
 * Limits a public GraphQL endpoint needs, because one request can ask for as much as its author
 * likes. Each limit is a validation rule, so it runs where the GraphQL spec puts validation: after
 * the document is parsed and before any resolver runs ("Validation", spec §5; "Executing
 * Requests", §6.1, executes only a valid request). A rejected query costs the server the walk over
 * its own document and nothing more.
 *
 *   depthLimit(8)     { a { b { c { ... } } } }  fields nested deeper than 8 are refused
 *   costLimit(10000)  a guess at the work: every field 1, a list's fields times its size
 *   maskError(log)    a resolver's bug reaches the client as "Internal server error" and an id,
 *                     the bug itself goes to the log under that id
 */
import type { GraphQLError, ValidationRule } from "graphql";
import { todo } from "#shared/todo.ts";

/**
 * Depth: how many fields deep the deepest field is. `{ user { name } }` is 2: `user`, then
 * `name`. Fragments and inline fragments add no level of their own: their fields are counted where
 * they are spread.
 */
export function depthLimit(maxDepth: number): ValidationRule {
  // TODO: A ValidationRule is a function of the ValidationContext that returns a visitor. For each
  // operation, find the depth of its deepest field, following inline fragments and fragment spreads
  // (context.getFragment) as if their fields were written in place. Fragment spreads must not form
  // cycles (spec §5.5.2.2), but all rules see the document together, so a cycle must not make this
  // walk go on forever. Over the limit, report (context.reportError) a GraphQLError whose
  // extensions.code is "DEPTH_LIMIT_EXCEEDED" and whose message names the operation, then the
  // figures: `Query: depth 6 exceeds the limit of 5` for an anonymous query, and the name in
  // double quotes for a named one, `Query "Deep": depth 4 exceeds the limit of 3`.
  return todo("lesson-09-graphql", "depthLimit()", "Step 5");
}

export interface CostOptions {
  /** The size assumed for a list whose size the query does not give. Default 10. */
  listSize?: number;
}

/**
 * Cost: a guess, made from the document alone, at how much work the query asks for.
 *
 * - Every field costs 1, plus the cost of its selections times its size.
 * - A field that returns a list has the size of its `first` or `last` argument, as written in the
 *   query or, when the query leaves it out, the argument's default in the schema. A list with
 *   neither has the size of the `first`/`last` of the field just above it when that field is not
 *   itself a list, which is how a connection is paged (`users(first: 20) { edges { ... } }`: the
 *   20 is the size of `edges`), or else `listSize`: under `orders(last: 5)`, `items` is `listSize`. A variable's value is not known before execution: it counts as `listSize`.
 *   A negative size counts as 0.
 * - Any other field has size 1.
 *
 * `{ user(id: "123") { orders(last: 5) { total } } }` costs 1 + (1 + 5 × 1) = 7.
 */
export function costLimit(maxCost: number, options: CostOptions = {}): ValidationRule {
  // TODO: For each operation, add up the cost above from the root type down, knowing each field's
  // type from the schema (a list or not, its arguments' defaults), and following fragments as
  // depthLimit does. Over the limit, report a GraphQLError whose extensions.code is
  // "COST_LIMIT_EXCEEDED" and whose message names the operation as depthLimit's does:
  // `Query: cost 12302 exceeds the limit of 10000`, `Query "Screen": cost 52 exceeds the limit of 51`.
  return todo("lesson-09-graphql", "costLimit()", "Step 5");
}

/**
 * For HandlerOptions.formatError. An error a resolver threw on purpose is a GraphQLError (with a
 * code such as BAD_USER_INPUT, for the client to act on) and passes as it is; so do the errors of
 * parsing and validation, which have no originalError. Anything else a resolver threw is a bug:
 * its message and stack may name hosts, queries and files, so the client gets "Internal server
 * error" and an id, and the log gets the error itself under the same id.
 */
export function maskError(
  log: (error: unknown, id: string) => void,
): (error: GraphQLError) => GraphQLError {
  // TODO: Return the formatter. A GraphQL response's errors are what the client sees (spec §7.1.2,
  // "Errors"): a bug's message, stack or cause must not be among them. Give the masked error
  // extensions { code: "INTERNAL_SERVER_ERROR", errorId }, keep where it happened (its path and
  // locations), and call log with the original error and the same id.
  return todo("lesson-09-graphql", "maskError()", "Step 5");
}
