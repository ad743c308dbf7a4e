/**
 * What the tests of Steps 1 and 2 share: a query executed with graphql-js against your
 * createSchema() and a fresh store, no HTTP in between (that is Step 3), and the field types of
 * the schema as SDL prints them.
 */
import {
  graphql,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  printType,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";
import { createLoaders, type Loaders } from "#lesson/lesson-09-graphql/loaders.ts";
import { createSchema } from "#lesson/lesson-09-graphql/schema.ts";
import { createStore, type Store, type StoreOptions } from "#reference/lesson-08-rest/store.ts";
import { within } from "../../shared/testing/patience.ts";

let built: GraphQLSchema | undefined;

/** Your createSchema(), built once and shared by the tests (it throws while it is a stub). */
export function schema(): GraphQLSchema {
  built ??= createSchema();
  return built;
}

/** A fresh store with the course's data set: users 101 to 140, user 123 Ada Lovelace. */
export function freshStore(options?: StoreOptions): Store {
  return createStore(options);
}

export interface RunOptions {
  store: Store;
  variables?: Record<string, unknown>;
  /**
   * "none": a context without loaders (Step 1's resolvers, one query per field); "fresh": new
   * loaders from your createLoaders(store) for this request, as a server makes per request; or
   * these loaders, to share them between requests on purpose.
   */
  loaders?: "none" | "fresh" | Loaders;
}

/** A result with data as plain JSON, as a client reads it, so tests can look into it. */
export interface Result {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: any;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** One GraphQL request: `source` executed against your schema, with a new context. */
export async function run(source: string, options: RunOptions): Promise<Result> {
  const { store, variables, loaders = "none" } = options;
  const contextValue = {
    store,
    loaders: loaders === "none" ? undefined : loaders === "fresh" ? createLoaders(store) : loaders,
  };
  const result: ExecutionResult = await within(
    Promise.resolve(graphql({ schema: schema(), source, contextValue, variableValues: variables })),
    `the result of ${source.trim().replace(/\s+/g, " ")}: a resolver's promise never settled`,
  );
  // What a client would get: the result serialised, each GraphQLError by its toJSON().
  return JSON.parse(JSON.stringify(result)) as Result;
}

/** A result as a failure message shows it. */
export function shown(result: Result): string {
  return JSON.stringify(result, null, 2);
}

/** The error codes of a result, in order. */
export function codes(result: Result): unknown[] {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

/**
 * A field's type as SDL writes it ("[Order!]!"), with its arguments ("last: Int"), or undefined
 * when the type has no such field.
 */
export function fieldOf(
  typeName: string,
  fieldName: string,
): { type: string; args: string[] } | undefined {
  const type = schema().getType(typeName);
  if (!isObjectType(type) && !isInterfaceType(type) && !isInputObjectType(type)) return undefined;
  const field = type.getFields()[fieldName];
  if (!field) return undefined;
  const args = "args" in field ? field.args.map((a) => `${a.name}: ${String(a.type)}`) : [];
  return { type: String(field.type), args };
}

/** A type of your schema as SDL, for a failure message. */
export function sdlOf(typeName: string): string {
  const type = schema().getType(typeName);
  return type ? printType(type) : `(your schema has no type ${typeName})`;
}
