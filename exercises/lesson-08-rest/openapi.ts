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
import { todo } from "#shared/todo.ts";

/** The whole document, as GET /openapi.json serves it. */
export function openApiDocument(): Record<string, unknown> {
  // TODO: An OpenAPI 3.1 document (§4.8.1): `openapi: "3.1.0"`, `info` with a title and a version,
  // `paths`, `components`. State the dialect of the schemas once (`jsonSchemaDialect`, §4.8.1).
  //
  // TODO: components.schemas: one entry per schema of schemas.ts that has `.meta({ id })`, named by
  // that id, made by zod's z.toJSONSchema (target draft-2020-12), never written by hand. A schema
  // inside another (an Order's items) is a `$ref` to "#/components/schemas/<id>". Request bodies
  // are what a client sends (zod's "input"), replies what the server sends ("output").
  //
  // TODO: paths: every route of app.ts and every method on it (OpenAPI writes `/users/{id}` where
  // express writes `/users/:id`), each with every status it can answer: the success (200, 201 with
  // Location, 204), 304 for a GET whose If-None-Match matches, and each refusal of Step 2 to Step 4
  // as application/problem+json with the Problem schema. A representation documents its ETag and
  // Cache-Control headers (RFC 9110 §8.8.3, RFC 9111 §5.2), a page its Link (RFC 8288), a 405 its
  // Allow (RFC 9110 §10.2.1).
  //
  // TODO: parameters: the path's id; limit and cursor on the list; last on the orders;
  // If-None-Match, If-Match (RFC 9110 §13.1) and Idempotency-Key where the API reads them. Request
  // bodies: application/json for POST and PUT, application/merge-patch+json for PATCH (RFC 7396).
  return todo("lesson-08-rest", "openApiDocument()", "Step 5");
}
