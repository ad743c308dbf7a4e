/**
 * The tRPC instance: what every procedure of the router is built from.
 *
 *   request ──► createContext(req)        { store, feed, user }   made anew for each request
 *           ──► protectedProcedure's       no user: UNAUTHORIZED (HTTP 401)
 *               middleware
 *           ──► the procedure's input      zod; a refusal is BAD_REQUEST (HTTP 400)
 *           ──► the resolver               throws TRPCError NOT_FOUND, CONFLICT, ...
 *           ──► errorFormatter             the error's shape as the client gets it, with the
 *                                          field errors of a refused input (Step 2)
 *
 * tRPC is JSON-RPC-shaped calls over HTTP: a procedure has a name (`user.getUser`), an input and an
 * output, and the router is the table of them. This file says what every procedure may rely on.
 */
import type http from "node:http";
import { initTRPC, type TRPCDefaultErrorShape } from "@trpc/server";
import type { MessageFeed } from "#reference/lesson-05-polling/feed.ts";
import type { Store } from "#reference/lesson-08-rest/store.ts";
import { todo } from "#shared/todo.ts";

/** What every procedure sees: made anew for each request by `createContext`. */
export interface Context {
  store: Store;
  /** Lesson 05's message feed, which the subscription of Step 4 streams. */
  feed: MessageFeed;
  /** Who the request's bearer token names, or null without a (known) token. */
  user: string | null;
}

/** The tokens a server accepts, and who each one names. */
export const DEFAULT_TOKENS: Readonly<Record<string, string>> = { "demo-token": "demo" };

/** A refused input's issues, by field: what zod 4's `z.flattenError` makes of a ZodError. */
export interface FieldErrors {
  /** Issues of the input as a whole (not an object, say). */
  formErrors: string[];
  /** Each field's issues: `{ email: ["Invalid email address"] }`. */
  fieldErrors: Record<string, string[] | undefined>;
}

/**
 * What a client gets for every error: tRPC's default shape, `{ message, code, data: { code,
 * httpStatus, path } }`, its data with one member more, the field errors of a refused input
 * (Step 2), null for any other error.
 */
export type ErrorShape = TRPCDefaultErrorShape & {
  data: TRPCDefaultErrorShape["data"] & { zodError: FieldErrors | null };
};

/** What a context is made from besides the request: the server's data, and its tokens. */
export interface ContextOptions {
  store: Store;
  feed: MessageFeed;
  /** Token -> who it names. Default DEFAULT_TOKENS. */
  tokens?: Readonly<Record<string, string>>;
}

/**
 * The context of one request. `user` is who its `Authorization: Bearer <token>` names, or null when
 * the header is absent, is another scheme, or carries a token nobody was given.
 */
export function createContext(
  req: { headers: http.IncomingHttpHeaders },
  options: ContextOptions,
): Context {
  // TODO: The store and the feed from the options; the user from the Authorization header,
  // `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]` (RFC 9110 §11.4). The scheme is
  // "a case-insensitive token" (RFC 9110 §11.1): Bearer, bearer and BEARER are one; the Bearer
  // credentials are a b64token (RFC 6750 §2.1). A token names whoever the tokens table says
  // (DEFAULT_TOKENS when the options give none); an absent header, another scheme, or a token
  // not in the table is no user (null). The token comes from the wire: only the table's own
  // entries count, "__proto__" and "constructor" are tokens nobody was given.
  return todo("lesson-11-trpc", "createContext()", "Step 1");
}

const t = initTRPC.context<Context>().create({
  // Without this, tRPC adds the error's stack to its data outside production: the server's file
  // paths, sent to any client. The server's log has the stack of a bug (server.ts).
  isDev: false,
  /**
   * Every error on its way to the client goes through here. tRPC's default shape (message, a
   * JSON-RPC code, and data with the code's name, the HTTP status and the procedure's path) is
   * kept as it is; a refused input adds its field errors, so a form can put each one beside its
   * field. An output that fails its schema is a bug (INTERNAL_SERVER_ERROR): it adds nothing.
   */
  errorFormatter({ shape, error }): ErrorShape {
    // TODO (Step 2): Return tRPC's shape with one more member in its data, zodError: for an input
    // the procedure's zod schema refused (code BAD_REQUEST, the ZodError as the error's cause), the
    // issues flattened by field (zod 4's z.flattenError: { formErrors, fieldErrors }); null for
    // every other error. Everything the shape had stays: clients read data.code and
    // data.httpStatus.
    return todo("lesson-11-trpc", "errorFormatter()", "Step 2");
  },
});

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;

/** A procedure only a caller with a token may call: UNAUTHORIZED otherwise. */
export const protectedProcedure = t.procedure.use(({ ctx, next }) => {
  // TODO: A middleware runs before the procedure's input is parsed and its resolver called. A
  // context without a user stops here with TRPCError UNAUTHORIZED (HTTP 401: the request lacks
  // valid credentials, RFC 9110 §15.5.2); one with a user goes on with next(), its ctx.user now a
  // string for the resolver. The ctx you hand next() is what the resolvers' types see: a bare
  // next() leaves their ctx.user string | null.
  return next({ ctx: unwritten() });
});

/** The stub's stand-in for the context the middleware hands on: replace the call to it. */
function unwritten(): Context & { user: string } {
  return todo("lesson-11-trpc", "protectedProcedure", "Step 1");
}
