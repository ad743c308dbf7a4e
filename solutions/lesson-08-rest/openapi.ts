/**
 * The API described as an OpenAPI 3.1 document (spec.openapis.org/oas/v3.1.0), served at
 * GET /openapi.json: every path, every method on it, every status each can answer with, the
 * headers and parameters that matter, and the JSON Schema of every body.
 *
 * The schemas are not written here. zod 4 turns the same schemas that validate requests
 * (schemas.ts) into JSON Schema draft 2020-12, the dialect OpenAPI 3.1 uses (§4.8.24), so the
 * document cannot say one thing while the code does another:
 *
 *   UserSchema  ──z.toJSONSchema──▶  components.schemas.User  ◀── { "$ref": "#/components/schemas/User" }
 *
 * What this file writes by hand is what zod cannot know: which route answers which status, with
 * which media type and headers. A client generator, a mock server or the contract check of the
 * lesson's tests reads it.
 */
import { z } from "zod";
import {
  IdSchema,
  InvalidParamSchema,
  OrderItemSchema,
  OrderSchema,
  OrdersQuerySchema,
  PageQuerySchema,
  ProblemSchema,
  ReviewSchema,
  UserInputSchema,
  UserPageSchema,
  UserPatchSchema,
  UserSchema,
} from "./schemas.ts";

type Json = Record<string, unknown>;

/** The schemas a request carries: JSON Schema describes what a client may send (zod's input). */
const REQUEST_SCHEMAS: z.ZodType[] = [UserInputSchema, UserPatchSchema];
/** The schemas a reply carries: what the server sends (zod's output). */
const REPLY_SCHEMAS: z.ZodType[] = [
  UserSchema,
  OrderItemSchema,
  OrderSchema,
  ReviewSchema,
  UserPageSchema,
  InvalidParamSchema,
  ProblemSchema,
];

/** The `id` each schema was given with `.meta({ id })` in schemas.ts. */
function idOf(schema: z.ZodType): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id !== "string") throw new Error("every schema of the document needs .meta({ id })");
  return id;
}

const ref = (schema: z.ZodType): Json => ({ $ref: `#/components/schemas/${idOf(schema)}` });

/**
 * components.schemas, from zod. A registry of our own (not zod's global one, which any module can
 * add to) lists the schemas by id; converting it makes one JSON Schema per id, and wherever one
 * schema holds another (an Order's items) a `$ref` to it instead of a copy.
 */
function componentSchemas(): Json {
  const convert = (schemas: z.ZodType[], io: "input" | "output"): Record<string, Json> => {
    const registry = z.registry<{ id: string }>();
    for (const schema of [...REQUEST_SCHEMAS, ...REPLY_SCHEMAS]) {
      registry.add(schema, { id: idOf(schema) });
    }
    const all = z.toJSONSchema(registry, {
      target: "draft-2020-12",
      io,
      uri: (id) => `#/components/schemas/${id}`,
    }).schemas;
    const picked: Record<string, Json> = {};
    for (const schema of schemas) {
      // Each component is a schema inside this document, not a document of its own: no $schema
      // (jsonSchemaDialect says it once) and no $id (an $id has no fragment, 2020-12 §8.2.1).
      const { $schema: _dialect, $id: _id, ...rest } = all[idOf(schema)] as Json;
      picked[idOf(schema)] = rest;
    }
    return picked;
  };
  return { ...convert(REQUEST_SCHEMAS, "input"), ...convert(REPLY_SCHEMAS, "output") };
}

/** A parameter's or header's schema, from zod too (a query parameter is read as zod's input). */
function schemaOf(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
  }) as Json;
  return rest;
}

const json = (schema: Json): Json => ({ "application/json": { schema } });
const problem: Json = { "application/problem+json": { schema: ref(ProblemSchema) } };
const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });
const param = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const response = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

/** Headers every representation carries (Step 3): its validator, and how long a cache may keep it. */
const representationHeaders = (extra: Json = {}): Json => ({
  ETag: header("ETag"),
  "Cache-Control": header("Cache-Control"),
  ...extra,
});

/** The refusals any operation may give (Step 2): no acceptable media type, and the server's bug. */
const ALWAYS: Json = {
  "406": response("NotAcceptable"),
  "500": response("InternalError"),
};

/** A GET of a representation: 200, or 304 when the client's copy is still current (Step 3). */
function read(
  operationId: string,
  summary: string,
  schema: Json,
  extra: { parameters?: Json[]; responses?: Json; headers?: Json } = {},
): Json {
  return {
    operationId,
    summary,
    parameters: [...(extra.parameters ?? []), param("If-None-Match")],
    responses: {
      "200": {
        description: summary,
        headers: representationHeaders(extra.headers),
        content: json(schema),
      },
      "304": response("NotModified"),
      ...extra.responses,
      ...ALWAYS,
    },
  };
}

/** A write's request body: a whole user as JSON, or a merge patch (RFC 7396). */
const body = (mediaType: string, schema: z.ZodType): Json => ({
  required: true,
  content: { [mediaType]: { schema: ref(schema) } },
});

/** What a write with a body can be refused for (Step 2), besides ALWAYS. */
const BODY_REFUSALS: Json = {
  "400": response("BadRequest"),
  "413": response("TooLarge"),
  "415": response("UnsupportedMediaType"),
};

/** An edit of an existing user, guarded by If-Match (Step 3). */
function edit(operationId: string, summary: string, requestBody: Json): Json {
  return {
    operationId,
    summary,
    parameters: [param("If-Match"), param("If-None-Match")],
    requestBody,
    responses: {
      "200": {
        description: "The user as it is now",
        headers: representationHeaders(),
        content: json(ref(UserSchema)),
      },
      ...BODY_REFUSALS,
      "404": response("NotFound"),
      "409": response("EmailTaken"),
      "412": response("PreconditionFailed"),
      ...ALWAYS,
    },
  };
}

/** OPTIONS (RFC 9110 §9.3.7): the methods of the resource in Allow, and no body. */
function options(operationId: string, extra: Json = {}): Json {
  return {
    operationId,
    summary: "The methods this resource has",
    responses: {
      "204": {
        description: "Allow lists the methods",
        headers: { Allow: header("Allow"), ...extra },
      },
      ...ALWAYS,
    },
  };
}

function paths(): Json {
  return {
    "/users": {
      get: read("listUsers", "One page of users, in id order", ref(UserPageSchema), {
        parameters: [param("limit"), param("cursor")],
        headers: { Link: header("Link") },
        responses: { "400": response("BadRequest") },
      }),
      post: {
        operationId: "createUser",
        summary: "Create a user",
        parameters: [param("Idempotency-Key")],
        requestBody: body("application/json", UserInputSchema),
        responses: {
          "201": {
            description: "Created; Location names the new user",
            headers: representationHeaders({ Location: header("Location") }),
            content: json(ref(UserSchema)),
          },
          ...BODY_REFUSALS,
          "409": response("Conflict"),
          "422": response("IdempotencyKeyReused"),
          ...ALWAYS,
        },
      },
      options: options("usersOptions", { "Accept-Post": header("Accept-Post") }),
    },
    "/users/{id}": {
      parameters: [param("UserId")],
      get: read("getUser", "One user", ref(UserSchema), {
        responses: { "404": response("NotFound") },
      }),
      put: edit(
        "replaceUser",
        "Replace a user with a whole new one",
        body("application/json", UserInputSchema),
      ),
      patch: edit(
        "patchUser",
        "Change some fields of a user (JSON Merge Patch, RFC 7396)",
        body("application/merge-patch+json", UserPatchSchema),
      ),
      delete: {
        operationId: "deleteUser",
        summary: "Delete a user, with their orders and reviews",
        parameters: [param("If-Match"), param("If-None-Match")],
        responses: {
          "204": { description: "Deleted" },
          "404": response("NotFound"),
          "412": response("PreconditionFailed"),
          ...ALWAYS,
        },
      },
      options: options("userOptions", { "Accept-Patch": header("Accept-Patch") }),
    },
    "/users/{id}/orders": {
      parameters: [param("UserId")],
      get: read(
        "listOrders",
        "A user's orders, oldest first",
        { type: "array", items: ref(OrderSchema) },
        {
          parameters: [param("last")],
          responses: { "400": response("BadRequest"), "404": response("NotFound") },
        },
      ),
      options: options("ordersOptions"),
    },
    "/users/{id}/reviews": {
      parameters: [param("UserId")],
      get: read(
        "listReviews",
        "A user's reviews",
        { type: "array", items: ref(ReviewSchema) },
        { responses: { "404": response("NotFound") } },
      ),
      options: options("reviewsOptions"),
    },
    "/openapi.json": {
      get: read(
        "getOpenApiDocument",
        "This document",
        schemaOf(
          z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }),
        ),
      ),
      options: options("openApiOptions"),
    },
  };
}

function parameters(): Json {
  const validator = (name: string, description: string): Json => ({
    name,
    in: "header",
    description,
    schema: schemaOf(z.string()),
  });
  return {
    UserId: {
      name: "id",
      in: "path",
      required: true,
      description: "The user's id",
      schema: schemaOf(IdSchema),
    },
    limit: {
      name: "limit",
      in: "query",
      description: "How many users a page holds at most",
      schema: schemaOf(PageQuerySchema.shape.limit),
    },
    cursor: {
      name: "cursor",
      in: "query",
      description: "Where the page starts: the opaque cursor the page before it gave as `next`",
      schema: schemaOf(PageQuerySchema.shape.cursor),
    },
    last: {
      name: "last",
      in: "query",
      description: "Only the most recent `last` orders (all of them when absent)",
      schema: schemaOf(OrdersQuerySchema.shape.last),
    },
    "If-None-Match": validator(
      "If-None-Match",
      "On a GET, the ETags of copies the client has: a match is answered 304 without a body. On a write, a match (`*`: any current user) is refused with 412 (RFC 9110 §13.1.2)",
    ),
    "If-Match": validator(
      "If-Match",
      "The ETag the client last read: the write is refused with 412 if the user changed since (RFC 9110 §13.1.1)",
    ),
    "Idempotency-Key": {
      name: "Idempotency-Key",
      in: "header",
      description:
        "A key the client makes for this one request: sent again with the same body, the first answer is repeated and nothing is created twice (draft-ietf-httpapi-idempotency-key-header)",
      schema: schemaOf(z.string().min(1)),
    },
  };
}

/** A Reference Object takes no `required` beside its $ref (§4.8.23): each header says it itself. */
function headers(): Json {
  const text = (description: string, required: boolean): Json => ({
    description,
    required,
    schema: schemaOf(z.string()),
  });
  return {
    ETag: text("A strong validator of this representation (RFC 9110 §8.8.3)", true),
    "Cache-Control": text("How long and by whom the answer may be reused (RFC 9111 §5.2)", true),
    Location: text("The URL of the user just created (RFC 9110 §10.2.2)", true),
    Link: text('The next page, as <url>; rel="next" (RFC 8288), absent on the last page', false),
    Allow: text("The methods this resource has (RFC 9110 §10.2.1)", true),
    "Accept-Post": text("The media type a POST body is read in (W3C LDP §7.1)", false),
    "Accept-Patch": text("The media type a PATCH body is read in (RFC 5789 §3.1)", false),
    Accept: text("The media type this operation reads its body in", false),
    CurrentETag: text(
      "The ETag of the representation as it is now: read it again before retrying",
      false,
    ),
  };
}

function responses(): Json {
  const refusal = (description: string, extra: Json = {}): Json => ({
    description,
    ...extra,
    content: problem,
  });
  return {
    NotModified: {
      description: "The client's copy is current: no body (RFC 9110 §15.4.5)",
      headers: representationHeaders(),
    },
    BadRequest: refusal(
      "Malformed JSON, or a body or query that is not valid (one entry per field)",
    ),
    NotFound: refusal("No such resource"),
    MethodNotAllowed: refusal("The resource has no such method", {
      headers: { Allow: header("Allow") },
    }),
    NotAcceptable: refusal("The Accept header excludes JSON"),
    Conflict: refusal(
      "The email is taken, or a request with this Idempotency-Key is still running",
    ),
    EmailTaken: refusal("Another user has this email"),
    PreconditionFailed: refusal(
      "If-Match does not match: the user changed since the client read it",
      {
        headers: { ETag: header("CurrentETag") },
      },
    ),
    TooLarge: refusal("The body is larger than the server accepts"),
    UnsupportedMediaType: refusal("The body is not in the media type this operation reads", {
      headers: { Accept: header("Accept") },
    }),
    IdempotencyKeyReused: refusal("This Idempotency-Key came with another request before"),
    InternalError: refusal("The server failed; `instance` names the error in its log"),
  };
}

/** The whole document, as GET /openapi.json serves it. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    // zod writes plain draft 2020-12: say so once, for every schema in the document (§4.8.1).
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Users, orders and reviews",
      version: "1.0.0",
      description:
        "Lesson 08's REST API. Errors are problem details (RFC 9457). HEAD is answered wherever GET is; a method a path lacks is answered 405 with Allow (components.responses.MethodNotAllowed).",
    },
    paths: paths(),
    components: {
      schemas: componentSchemas(),
      parameters: parameters(),
      headers: headers(),
      responses: responses(),
    },
  };
}
