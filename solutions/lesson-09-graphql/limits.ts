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
import { randomUUID } from "node:crypto";
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type ASTVisitor,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

/** The operation, as an error message names it: `Query`, or `Query "Screen"` when it has a name. */
function operationLabel(operation: OperationDefinitionNode): string {
  const kind = operation.operation[0]?.toUpperCase() + operation.operation.slice(1);
  return operation.name ? `${kind} "${operation.name.value}"` : kind;
}

/**
 * A fragment spread is its fragment's selections written in place, so both limits follow it.
 * The spec forbids a fragment that spreads itself, directly or through others ("Fragment spreads
 * must not form cycles", §5.5.2.2), and NoFragmentCyclesRule reports it; but the rules all run
 * over the same document together, so a limit meets the cycle too and must not follow it forever.
 * A fragment already being walked counts as nothing. Each fragment is walked once and its result
 * kept: a fragment spread twice in each of twenty fragments is a million spreads, not a million
 * walks.
 */
function fragmentWalker<T>(
  context: ValidationContext,
  walk: (selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined) => T,
  none: T,
): (name: string) => T {
  const done = new Map<string, T>();
  const walking = new Set<string>();
  return (name) => {
    const known = done.get(name);
    if (known !== undefined) return known;
    const fragment = context.getFragment(name);
    if (!fragment || walking.has(name)) return none;
    walking.add(name);
    const type = context.getSchema().getType(fragment.typeCondition.name.value);
    const result = walk(fragment.selectionSet, type);
    walking.delete(name);
    done.set(name, result);
    return result;
  };
}

/** The field a selection names on `parent`, the introspection fields included, if there is one. */
function fieldOf(
  context: ValidationContext,
  parent: GraphQLNamedType | undefined,
  node: FieldNode,
): GraphQLField<unknown, unknown> | undefined {
  const name = node.name.value;
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === context.getSchema().getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  if (isObjectType(parent) || isInterfaceType(parent)) return parent.getFields()[name];
  // An unknown field is FieldsOnCorrectTypeRule's to report: here it is a field without children.
  return undefined;
}

/**
 * Depth: how many fields deep the deepest field is. `{ user { name } }` is 2: `user`, then
 * `name`. Fragments and inline fragments add no level of their own: their fields are counted where
 * they are spread.
 */
export function depthLimit(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    // Depth needs no types: only how selections nest.
    const depthOf = (selectionSet: SelectionSetNode): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        let depth: number;
        if (selection.kind === Kind.FIELD) {
          depth = 1 + (selection.selectionSet ? depthOf(selection.selectionSet) : 0);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          depth = depthOf(selection.selectionSet);
        } else {
          depth = fragmentDepth(selection.name.value);
        }
        deepest = Math.max(deepest, depth);
      }
      return deepest;
    };
    const fragmentDepth = fragmentWalker(context, (set) => depthOf(set), 0);

    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(
              `${operationLabel(operation)}: depth ${depth} exceeds the limit of ${maxDepth}`,
              {
                nodes: operation,
                extensions: { code: "DEPTH_LIMIT_EXCEEDED", depth, limit: maxDepth },
              },
            ),
          );
        }
        return false; // nothing below an operation needs this rule's visit
      },
    };
  };
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
  const listSize = options.listSize ?? 10;
  return (context: ValidationContext): ASTVisitor => {
    /** The `first` or `last` this field asks for, if it has one of those arguments. */
    const pageSize = (
      node: FieldNode,
      field: GraphQLField<unknown, unknown>,
    ): number | undefined => {
      for (const name of ["first", "last"]) {
        const written = node.arguments?.find((a) => a.name.value === name);
        if (written) {
          // A negative page is no page (the resolver refuses it or returns nothing), and must
          // not make the rest of the query look cheaper.
          return written.value.kind === Kind.INT
            ? Math.max(0, Number(written.value.value))
            : listSize;
        }
      }
      for (const name of ["first", "last"]) {
        const declared = field.args.find((a) => a.name === name)?.defaultValue;
        if (typeof declared === "number") return declared;
      }
      return undefined;
    };

    const costOf = (
      selectionSet: SelectionSetNode,
      type: GraphQLNamedType | undefined,
      parentPage: number | undefined,
    ): number => {
      let cost = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          cost += fieldCost(selection, type, parentPage);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition
            ? context.getSchema().getType(selection.typeCondition.name.value)
            : type;
          cost += costOf(selection.selectionSet, condition, parentPage);
        } else {
          cost += fragmentCost(selection.name.value, parentPage);
        }
      }
      return cost;
    };

    const fieldCost = (
      node: FieldNode,
      parent: GraphQLNamedType | undefined,
      parentPage: number | undefined,
    ): number => {
      const field = fieldOf(context, parent, node);
      if (!field || !node.selectionSet) return 1;
      const page = pageSize(node, field);
      if (isListType(getNullableType(field.type))) {
        const size = page ?? parentPage ?? listSize;
        return 1 + size * costOf(node.selectionSet, getNamedType(field.type), undefined);
      }
      // A field that is not a list hands its page size down to the list under it (a connection).
      return 1 + costOf(node.selectionSet, getNamedType(field.type), page);
    };

    // The page size handed into a fragment changes its cost, so each (fragment, page size) pair
    // is walked once.
    const walkers = new Map<number | undefined, (name: string) => number>();
    const fragmentCost = (name: string, parentPage: number | undefined): number => {
      let walker = walkers.get(parentPage);
      if (!walker) {
        walker = fragmentWalker(context, (set, type) => costOf(set, type, parentPage), 0);
        walkers.set(parentPage, walker);
      }
      return walker(name);
    };

    return {
      OperationDefinition(operation) {
        const root = context.getSchema().getRootType(operation.operation) ?? undefined;
        const cost = costOf(operation.selectionSet, root, undefined);
        if (cost > maxCost) {
          context.reportError(
            new GraphQLError(
              `${operationLabel(operation)}: cost ${cost} exceeds the limit of ${maxCost}`,
              {
                nodes: operation,
                extensions: { code: "COST_LIMIT_EXCEEDED", cost, limit: maxCost },
              },
            ),
          );
        }
        return false;
      },
    };
  };
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
  return (error) => {
    const original = error.originalError;
    if (original === undefined || original instanceof GraphQLError) return error;
    const errorId = randomUUID();
    log(original, errorId);
    // Where it happened (locations, path) helps the client and gives nothing away; no originalError,
    // so nothing of the bug travels with the new error.
    return new GraphQLError("Internal server error", {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: "INTERNAL_SERVER_ERROR", errorId },
    });
  };
}
