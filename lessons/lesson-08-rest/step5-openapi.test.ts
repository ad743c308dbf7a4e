import { isDeepStrictEqual } from "node:util";
import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, test } from "vitest";
import type { z } from "zod";
import { createApp } from "#lesson/lesson-08-rest/app.ts";
import {
  OrderSchema,
  ProblemSchema,
  ReviewSchema,
  UserInputSchema,
  UserPageSchema,
  UserPatchSchema,
  UserSchema,
} from "#lesson/lesson-08-rest/schemas.ts";
import { createStore } from "#lesson/lesson-08-rest/store.ts";
import { ajvFor, byText, contractFor, DOCUMENT_ID, type Check } from "./contract.ts";
import { request, startApi, type Api, type Reply, type RequestInit } from "./helpers.ts";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The app's document, as a client gets it: GET /openapi.json. */
async function documentOf(api: Api): Promise<Json> {
  const reply = await request(api, "GET", "/openapi.json");
  expect(reply.status, `GET /openapi.json answers 200 with the document, not:\n${reply.text}`).toBe(
    200,
  );
  expect(isObject(reply.json), "The document is a JSON object").toBe(true);
  return reply.json as Json;
}

/** The value a JSON Pointer (RFC 6901) names in the document. */
function at(document: Json, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((node, part) => (isObject(node) ? node[part] : undefined), document);
}

/** `value`, or what its Reference Object ($ref "#/...") names. */
function deref(document: Json, value: unknown): Json {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node.$ref === "string" && hops < 10; hops++) {
    node = at(document, node.$ref.slice(1));
  }
  return isObject(node) ? node : {};
}

const METHODS = ["get", "put", "post", "delete", "patch", "options"] as const;

/**
 * Every operation of the document, keyed `GET /users/{}` (parameter names left out, so that
 * `{id}` and `{userId}` are the same template), each as the document writes it: `GET /users/{id}`.
 */
function documentedOperations(document: Json): Map<string, string> {
  const operations = new Map<string, string>();
  for (const [path, item] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    for (const method of METHODS) {
      if (isObject(deref(document, item)[method])) {
        const name = method.toUpperCase();
        operations.set(`${name} ${path.replace(/\{[^}]*\}/g, "{}")}`, `${name} ${path}`);
      }
    }
  }
  return operations;
}

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  rawPath?: unknown;
}

/**
 * Every route of an express 5 app, walked from its router's stack (mounted routers too), keyed as
 * documentedOperations() keys them and written in the document's form: `GET /users/{id}` for
 * `app.get("/users/:id")`. HEAD is left out: express answers
 * it from the GET route, and OpenAPI has it as GET without the content. OPTIONS is in, once per
 * path: every route answers it (204 with Allow, Step 2), so it is an operation the document owes.
 */
function appOperations(): Map<string, string> {
  const app = createApp({ store: createStore(), log: () => {} }) as unknown as {
    router: { stack: RouterLayer[] };
  };
  const operations = new Map<string, string>();
  const walk = (stack: RouterLayer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const path of [layer.route.path].flat()) {
          expect(typeof path, "every route's path is a string the document can name").toBe(
            "string",
          );
          const route = `${prefix}${String(path)}`;
          const key = route.replace(/:[A-Za-z0-9_]+/g, "{}");
          const template = route.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
          operations.set(`OPTIONS ${key}`, `OPTIONS ${template}`);
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (!on || method === "_all" || method === "head" || method === "options") continue;
            operations.set(`${method.toUpperCase()} ${key}`, `${method.toUpperCase()} ${template}`);
          }
        }
      } else if (layer.handle?.stack !== undefined) {
        const mount =
          typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : "";
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk(app.router.stack, "");
  return operations;
}

/** The contract of your document: every reply checked against it (contract.ts). */
const yourContract = byText((document: Json) => contractFor(document, YOURS));

/** The JSON Pointer of every schema in the document: components, bodies, parameters, headers. */
function schemaPointers(document: Json): string[] {
  const pointers: string[] = [];
  const token = (key: string): string => key.replaceAll("~", "~0").replaceAll("/", "~1");
  const visit = (node: unknown, pointer: string, parent: string | undefined): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${pointer}/${i}`, undefined));
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const here = `${pointer}/${token(key)}`;
      // A media type's, a parameter's or a header's schema, or a component schema.
      if ((key === "schema" && parent !== "properties") || parent === "schemas") {
        pointers.push(here);
        continue;
      }
      visit(value, here, key);
    }
  };
  visit(document.paths, "/paths", undefined);
  visit(document.components, "/components", undefined);
  return pointers;
}

/**
 * Each component the document must have, with values zod accepts and values it refuses, and the
 * side of zod it describes. A request body is what a client may send: zod's input, anything zod
 * accepts. A reply is what the server sends: zod's output, what zod returns from a parse, so a
 * value zod would change on the way (a member it strips) is not one a reply can carry.
 */
const SAMPLES: { id: string; zod: z.ZodType; side: "input" | "output"; values: unknown[] }[] = [
  {
    id: "UserInput",
    zod: UserInputSchema,
    side: "input",
    values: [
      { name: "Ada", email: "ada@example.com" },
      { name: "Ada" },
      { name: "", email: "ada@example.com" },
      { name: "Ada", email: "not an email" },
      { name: "Ada", email: "ada@example.com", id: "123" },
      { name: "x".repeat(101), email: "ada@example.com" },
      "Ada",
    ],
  },
  {
    id: "UserPatch",
    zod: UserPatchSchema,
    side: "input",
    values: [{}, { name: "Ada" }, { email: null }, { email: "nope" }, { admin: true }, []],
  },
  {
    id: "User",
    zod: UserSchema,
    side: "output",
    values: [
      { id: "123", name: "Ada", email: "ada@example.com" },
      { id: "123", name: "Ada", email: "ada@example.com", age: 3 },
      { id: 123, name: "Ada", email: "ada@example.com" },
      { id: "abc", name: "Ada", email: "ada@example.com" },
      { id: "123", name: "Ada" },
    ],
  },
  {
    id: "Order",
    zod: OrderSchema,
    side: "output",
    values: [
      {
        id: "5001",
        userId: "123",
        placedAt: "2026-01-07T00:00:00.000Z",
        total: 89,
        items: [{ productName: "Mechanical keyboard", quantity: 1 }],
      },
      {
        id: "5001",
        userId: "123",
        placedAt: "2026-01-07T00:00:00.000Z",
        total: 89,
        items: [{ productName: "Mechanical keyboard", quantity: 0 }],
      },
      {
        id: "5001",
        userId: "123",
        placedAt: "2026-01-07T00:00:00.000Z",
        total: 89,
        items: [{ productName: "Mechanical keyboard", quantity: 1, sku: "K-1" }],
      },
      {
        id: "5001",
        userId: "123",
        placedAt: "2026-01-07T00:00:00.000Z",
        total: 89,
        items: [],
        coupon: "SPRING",
      },
      { id: "5001", userId: "123", placedAt: "yesterday", total: 89, items: [] },
      { id: "5001", userId: "123", placedAt: "2026-01-07T00:00:00.000Z", total: -1, items: [] },
    ],
  },
  {
    id: "Review",
    zod: ReviewSchema,
    side: "output",
    values: [
      { id: "9001", userId: "123", rating: 5, comment: "Would buy again." },
      { id: "9001", userId: "123", rating: 5, comment: "Would buy again.", helpful: 2 },
      { id: "9001", userId: "123", rating: 6, comment: "Would buy again." },
      { id: "9001", userId: "123", rating: 4.5, comment: "Would buy again." },
    ],
  },
  {
    id: "UserPage",
    zod: UserPageSchema,
    side: "output",
    values: [
      { data: [{ id: "123", name: "Ada", email: "ada@example.com" }], next: "abc" },
      { data: [], next: null, total: 40 },
      { data: [], next: null },
      { data: [] },
      { data: [{ id: 123, name: "Ada", email: "ada@example.com" }], next: null },
    ],
  },
  {
    id: "Problem",
    zod: ProblemSchema,
    side: "output",
    values: [
      {
        type: "https://example.com/problems/validation",
        title: "The request is not valid",
        status: 400,
        detail: "The body is not valid",
        errors: [{ pointer: "/email", reason: "Invalid email address" }],
      },
      { type: "about:blank", title: "Not found", status: 404 },
      { type: "about:blank", title: "OK", status: 200, detail: "not a problem" },
      { type: "about:blank", title: "Bad", status: 400, detail: "x", errors: [{ pointer: "/a" }] },
      { type: "about:blank", title: "Not found", status: 404, detail: "x", stack: "at store.ts" },
    ],
  },
];

type Send = (method: string, path: string, status: number, init?: RequestInit) => Promise<Reply>;

/** A request for each success the API answers with, and the status it gives. */
async function successes(send: Send): Promise<void> {
  const page = await send("GET", "/users?limit=2", 200);
  const next = (page.json as { next?: unknown } | undefined)?.next;
  if (typeof next === "string")
    await send("GET", `/users?limit=2&cursor=${encodeURIComponent(next)}`, 200);
  await send("GET", "/users", 200);
  const ada = await send("GET", "/users/123", 200);
  await send("GET", "/users/123", 304, {
    headers: { "If-None-Match": ada.headers.get("etag") ?? "" },
  });
  await send("GET", "/users/123/orders?last=5", 200);
  await send("GET", "/users/123/orders", 200);
  await send("GET", "/users/123/reviews", 200);
  await send("GET", "/openapi.json", 200);
  const grace = { name: "Grace Hopper", email: "grace@example.com" };
  const key = { "Idempotency-Key": '"step5-create"' };
  const created = await send("POST", "/users", 201, { headers: key, body: grace });
  await send("POST", "/users", 201, { headers: key, body: grace });
  const location = created.headers.get("location") ?? "/users/141";
  const path = new URL(location, "http://api.invalid").pathname;
  await send("PUT", path, 200, { body: { name: "Grace B. Hopper", email: "grace@example.com" } });
  await send("PATCH", path, 200, {
    headers: { "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify({ name: "Amazing Grace" }),
  });
  await send("DELETE", path, 204);
  // Every route answers OPTIONS (RFC 9110 §9.3.7), so each path documents it.
  for (const target of [
    "/users",
    "/users/123",
    "/users/123/orders",
    "/users/123/reviews",
    "/openapi.json",
  ]) {
    await send("OPTIONS", target, 204);
  }
}

/** A request for each refusal the API answers with (Steps 2 to 4), and its status. */
async function refusals(send: Send): Promise<void> {
  const json = { "Content-Type": "application/json" };
  await send("GET", "/users?limit=0", 400);
  await send("GET", "/users?cursor=not-a-cursor", 400);
  await send("GET", "/users/999", 404);
  await send("GET", "/users/999/orders", 404);
  await send("GET", "/users/999/reviews", 404);
  await send("GET", "/users/123/orders?last=0", 400);
  await send("GET", "/users/123", 406, { headers: { Accept: "text/html" } });
  await send("POST", "/users", 400, { headers: json, body: '{"name": "Ada",' });
  await send("POST", "/users", 400, { body: { name: "", email: "nope" } });
  await send("POST", "/users", 415, { headers: { "Content-Type": "text/plain" }, body: "Ada" });
  await send("POST", "/users", 413, {
    body: { name: "Ada", email: "ada@example.com", pad: "x".repeat(20_000) },
  });
  await send("POST", "/users", 409, {
    body: { name: "Ada", email: "ada.lovelace.123@example.com" },
  });
  const key = { "Idempotency-Key": '"step5-reused"' };
  await send("POST", "/users", 201, {
    headers: key,
    body: { name: "Radia", email: "radia@example.com" },
  });
  await send("POST", "/users", 422, {
    headers: key,
    body: { name: "Ken", email: "ken@example.com" },
  });
  await send("PUT", "/users/999", 404, { body: { name: "Nobody", email: "nobody@example.com" } });
  await send("PUT", "/users/123", 400, { body: { name: "Ada" } });
  await send("PUT", "/users/123", 409, { body: { name: "Ada", email: "radia@example.com" } });
  await send("PUT", "/users/123", 412, {
    headers: { "If-Match": '"not-the-current-one"' },
    body: { name: "Ada", email: "ada@example.com" },
  });
  await send("PATCH", "/users/123", 415, { body: { name: "Ada" } });
  await send("PATCH", "/users/123", 412, {
    headers: {
      "Content-Type": "application/merge-patch+json",
      "If-Match": '"not-the-current-one"',
    },
    body: JSON.stringify({ name: "Ada" }),
  });
  await send("DELETE", "/users/999", 404);
  await send("DELETE", "/users/123", 412, { headers: { "If-Match": '"not-the-current-one"' } });
}

/**
 * Sends each request, checks its status (the earlier steps' rule: here it only makes sure the
 * reply is the one meant), then the reply against the learner's own document.
 */
function sender(api: Api, check: Check): Send {
  return async (method, path, status, init) => {
    const reply = await request(api, method, path, init);
    expect(
      reply.status,
      `${method} ${path} answers ${status} (the earlier steps test it; Step 5 checks the document describes it):\n  received: ${reply.status} ${reply.text.slice(0, 300)}`,
    ).toBe(status);
    check(method, path, reply);
    return reply;
  };
}

const YOURS = "your OpenAPI document, GET /openapi.json";
const JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema";
/** The dialect of a Schema Object that names none, in a document that names none (OAS 3.1). */
const OAS_BASE_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base";

/**
 * The OpenAPI validator compiles the OpenAPI 3.1 schema the first time it validates, which takes
 * seconds on a busy machine: it does so once, before the tests, on a document of three lines.
 */
const validator = new Validator();
beforeAll(async () => {
  await validator.validate({
    openapi: "3.1.0",
    info: { title: "warm-up", version: "0" },
    paths: {},
  });
}, 30_000);

describe("Step 5: The OpenAPI document", () => {
  test("GET /openapi.json answers a valid OpenAPI 3.1 document", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    const result = await validator.validate(structuredClone(document));
    const errors = Array.isArray(result.errors)
      ? result.errors
          .slice(0, 5)
          .map(
            (e) =>
              `  ${e.instancePath || "(the document)"}: ${e.message} ${JSON.stringify(e.params)}`,
          )
          .join("\n")
      : String(result.errors);
    expect(
      result.valid,
      `The document must validate against the OpenAPI schema (spec.openapis.org/oas/3.1/schema):\n${errors}`,
    ).toBe(true);
    expect(
      validator.version,
      `The document says "openapi": "3.1.x": JSON Schema 2020-12 is the dialect of OpenAPI 3.1 (§4.8.24), not of 3.0`,
    ).toBe("3.1");
  });

  test("every route of the app, with each of its methods, is an operation of the document", async () => {
    const api = await startApi();
    const documented = documentedOperations(await documentOf(api));
    const routes = appOperations();
    const missing = [...routes]
      .filter(([key]) => !documented.has(key))
      .map(([, operation]) => operation);
    expect(
      missing,
      `Each of the app's routes (express writes /users/:id, OpenAPI /users/{id}) and each method on it is an operation of paths, OPTIONS too: every route answers it (204 with Allow, RFC 9110 §9.3.7).\n  documented: ${[...documented.values()].join(", ")}`,
    ).toEqual([]);
    const extra = [...documented]
      .filter(([key]) => !routes.has(key))
      .map(([, operation]) => operation);
    expect(
      extra,
      `The document describes only what the app answers: these operations are not routes of createApp().\n  routes: ${[...routes.values()].join(", ")}`,
    ).toEqual([]);
  });

  test("every schema of the document is valid JSON Schema 2020-12 (its meta-schema) and compiles", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    const pointers = schemaPointers(document);
    expect(
      pointers.length,
      "The document has schemas: components.schemas and those of bodies",
    ).toBeGreaterThan(7);
    const ajv = ajvFor(document);
    for (const pointer of pointers) {
      const schema = at(document, pointer);
      expect(
        ajv.validateSchema(schema as Json),
        `The schema at #${pointer} must be valid against JSON Schema 2020-12's meta-schema: ${ajv.errorsText(ajv.errors)}. An "$id" has no fragment (2020-12 §8.2.1): the "$id" zod writes on each schema of a registry, "#/components/schemas/...", is for a schema of its own; a component is a part of this document, so drop it.\n  schema: ${JSON.stringify(schema).slice(0, 400)}`,
      ).toBe(true);
      let problem = "";
      try {
        if (ajv.getSchema(`${DOCUMENT_ID}#${pointer}`) === undefined) problem = "not found";
      } catch (error) {
        problem = (error as Error).message;
      }
      expect(
        problem,
        `The schema at #${pointer} must compile with ajv's JSON Schema 2020-12 (and ajv-formats): ${problem}\n  schema: ${JSON.stringify(at(document, pointer)).slice(0, 400)}`,
      ).toBe("");
    }
  });

  test("every schema is read in the dialect zod wrote it in, JSON Schema 2020-12: the document says so in jsonSchemaDialect", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    for (const pointer of schemaPointers(document)) {
      const schema = at(document, pointer);
      // How a tool finds a Schema Object's dialect: its own $schema, else the document's
      // jsonSchemaDialect, else OpenAPI's base dialect (OAS 3.1 §4.8.24, "Specifying Schema Dialects").
      const own = isObject(schema) ? schema.$schema : undefined;
      const dialect = own ?? document.jsonSchemaDialect ?? OAS_BASE_DIALECT;
      expect(
        dialect,
        `#${pointer} is read as ${JSON.stringify(dialect)}${own === undefined ? (document.jsonSchemaDialect === undefined ? ": it has no $schema, and the document no jsonSchemaDialect, so OpenAPI's base dialect applies" : ", the document's jsonSchemaDialect") : ", its own $schema"}. zod wrote it in JSON Schema 2020-12: with the $schema of each component dropped, say "jsonSchemaDialect": "${JSON_SCHEMA_2020_12}" once, at the top of the document`,
      ).toBe(JSON_SCHEMA_2020_12);
    }
  });

  test("components.schemas are zod's: each accepts what its zod schema accepts and refuses what it refuses", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    const ajv = ajvFor(document);
    // A schema that holds another names it (zod's registry does this), rather than a copy of it.
    for (const [pointer, id] of [
      ["/components/schemas/Order/properties/items/items", "OrderItem"],
      ["/components/schemas/UserPage/properties/data/items", "User"],
      ["/components/schemas/Problem/properties/errors/items", "InvalidParam"],
    ] as const) {
      expect(
        at(document, pointer),
        `#${pointer} is a $ref to components.schemas.${id}, not a copy of it`,
      ).toEqual({ $ref: `#/components/schemas/${id}` });
    }
    for (const { id, zod, side, values } of SAMPLES) {
      const pointer = `/components/schemas/${id}`;
      expect(
        isObject(at(document, pointer)),
        `components.schemas has ${id}, the schema schemas.ts names with .meta({ id: "${id}" })`,
      ).toBe(true);
      const validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer}`);
      for (const value of values) {
        const parsed = zod.safeParse(value);
        const zodSays = parsed.success;
        // The output side: only what a parse returns as it is. zod strips an unknown member.
        const unchanged = parsed.success && isDeepStrictEqual(parsed.data, value);
        const expected = side === "input" ? zodSays : unchanged;
        const why =
          side === "input"
            ? `zod's ${id}Schema ${zodSays ? "accepts" : "refuses"} it, and a request body is what zod accepts (its input side, io: "input")`
            : zodSays && !unchanged
              ? `zod's ${id}Schema accepts it but strips what it does not know, so the server never sends it: a reply is what zod produces (its output side, io: "output", which says "additionalProperties": false)`
              : `zod's ${id}Schema ${zodSays ? "produces" : "refuses"} it, and a reply is what zod produces (its output side, io: "output")`;
        expect(
          validate?.(value),
          `${JSON.stringify(value)}: ${why}, so #${pointer} must ${expected ? "accept" : "refuse"} it (z.toJSONSchema makes it; a schema written by hand drifts). ajv: ${ajv.errorsText(validate?.errors)}`,
        ).toBe(expected);
      }
    }
  });

  test("the parameters and request bodies are documented: limit, cursor, last, If-None-Match, If-Match, Idempotency-Key, JSON and merge patch", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    const paths = isObject(document.paths) ? document.paths : {};
    const find = (method: string, template: string): Json => {
      const path = Object.keys(paths).find((p) => p.replace(/\{[^}]*\}/g, "{}") === template);
      const item = deref(document, path === undefined ? undefined : paths[path]);
      const operation = deref(document, item[method]);
      expect(
        Object.keys(operation).length,
        `the document has ${method.toUpperCase()} ${template}`,
      ).toBeGreaterThan(0);
      return { ...operation, pathParameters: item.parameters };
    };
    const parameters = (operation: Json): string[] =>
      [operation.pathParameters, operation.parameters]
        .flatMap((list) => (Array.isArray(list) ? list : []))
        .map((p) => deref(document, p))
        .map((p) => `${String(p.in)} ${String(p.name).toLowerCase()}`);
    const expected: [string, string, string[]][] = [
      ["get", "/users", ["query limit", "query cursor", "header if-none-match"]],
      ["post", "/users", ["header idempotency-key"]],
      ["get", "/users/{}", ["path id", "header if-none-match"]],
      ["put", "/users/{}", ["path id", "header if-match"]],
      ["patch", "/users/{}", ["path id", "header if-match"]],
      ["delete", "/users/{}", ["path id", "header if-match"]],
      ["get", "/users/{}/orders", ["path id", "query last", "header if-none-match"]],
      ["get", "/users/{}/reviews", ["path id", "header if-none-match"]],
    ];
    for (const [method, template, names] of expected) {
      const documented = parameters(find(method, template));
      for (const name of names) {
        expect(
          documented.map((p) => p.replace(/^path \S+$/, "path id")),
          `${method.toUpperCase()} ${template} documents the parameter "${name}" (in, name)`,
        ).toContain(name);
      }
    }
    const bodies: [string, string, string, string][] = [
      ["post", "/users", "application/json", "UserInput"],
      ["put", "/users/{}", "application/json", "UserInput"],
      ["patch", "/users/{}", "application/merge-patch+json", "UserPatch"],
    ];
    for (const [method, template, mediaType, id] of bodies) {
      const body = deref(document, find(method, template).requestBody);
      const content = isObject(body.content) ? body.content : {};
      expect(
        Object.keys(content),
        `${method.toUpperCase()} ${template}'s requestBody is ${mediaType}${mediaType.includes("merge") ? " (RFC 7396 §4)" : ""}`,
      ).toEqual([mediaType]);
      expect(
        deref(document, content[mediaType]).schema,
        `${method.toUpperCase()} ${template}'s body is the ${id} schema`,
      ).toEqual({ $ref: `#/components/schemas/${id}` });
    }
  });

  test("representations document ETag and Cache-Control, every GET its 304, the new user its Location, the list its Link", async () => {
    const api = await startApi();
    const document = await documentOf(api);
    const responseHeaders = (method: string, path: string, status: string): Json => {
      const operation = deref(
        document,
        deref(document, at(document, `/paths/${path.replaceAll("/", "~1")}`))[method],
      );
      const response = deref(document, deref(document, operation.responses)[status]);
      expect(
        Object.keys(response).length,
        `${method.toUpperCase()} ${path} documents its ${status}`,
      ).toBeGreaterThan(0);
      return isObject(response.headers) ? response.headers : {};
    };
    const headersOf = (method: string, path: string, status: string): string[] =>
      Object.keys(responseHeaders(method, path, status)).map((h) => h.toLowerCase());
    /** The header is sent on every such answer, and its Header Object says so itself. */
    const expectRequired = (method: string, path: string, status: string, name: string): void => {
      const headers = responseHeaders(method, path, status);
      const key = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
      const header = key === undefined ? undefined : headers[key];
      expect(
        deref(document, header).required,
        `${method.toUpperCase()} ${path} always sends ${name} on its ${status}: its Header Object says "required": true itself, in components.headers, since OpenAPI 3.1 ignores anything beside a $ref but a summary and a description (§4.8.23).\n  documented: ${JSON.stringify(header)}`,
      ).toBe(true);
    };
    const paths = Object.keys(isObject(document.paths) ? document.paths : {});
    const path = (template: string): string =>
      paths.find((p) => p.replace(/\{[^}]*\}/g, "{}") === template) ?? template;
    for (const template of ["/users", "/users/{}", "/users/{}/orders", "/users/{}/reviews"]) {
      for (const status of ["200", "304"]) {
        const headers = headersOf("get", path(template), status);
        expect(
          headers,
          `GET ${template} documents ETag on its ${status} (RFC 9110 §8.8.3)`,
        ).toContain("etag");
        expect(
          headers,
          `GET ${template} documents Cache-Control on its ${status} (RFC 9111 §5.2)`,
        ).toContain("cache-control");
      }
      expectRequired("get", path(template), "200", "ETag");
      expectRequired("get", path(template), "200", "Cache-Control");
    }
    expect(
      headersOf("get", path("/users"), "200"),
      `GET /users documents Link (RFC 8288) on its 200`,
    ).toContain("link");
    expect(
      headersOf("post", path("/users"), "201"),
      `POST /users documents Location (RFC 9110 §10.2.2) on its 201`,
    ).toContain("location");
    expectRequired("post", path("/users"), "201", "Location");
  });

  test("every success the app answers with is described by the document: status, media type, headers and body", async () => {
    const api = await startApi();
    await successes(sender(api, yourContract(await documentOf(api))));
  });

  test("every refusal the app answers with is described by the document, as a problem", async () => {
    const api = await startApi();
    await refusals(sender(api, yourContract(await documentOf(api))));
  });

  test("an unexpected error's 500 is described by the document", async () => {
    const document = await documentOf(await startApi());
    let failing = false;
    const store = createStore({
      onQuery: () => {
        if (failing) throw new Error("the database went away");
      },
    });
    const api = await startApi({ store });
    failing = true;
    const send = sender(api, yourContract(document));
    await send("GET", "/users/123", 500);
    await send("GET", "/users", 500);
    await send("POST", "/users", 500, { body: { name: "Ada", email: "ada@example.com" } });
  });
});
