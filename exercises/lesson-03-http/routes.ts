/**
 * The profile API, the application behind the protocol. It sees parsed requests and returns
 * responses; it never touches bytes on a socket.
 *
 *   GET  /profile/:id   the profile as JSON, or 404     (HEAD: the same, without the body)
 *   POST /profile       {"name": "..."} creates a profile: 201 with a Location header
 */
import { todo } from "#shared/todo.ts";
import type { HttpRequest } from "./parser.ts";
import type { HttpResponse } from "./response.ts";

export interface Profile {
  id: number;
  name: string;
  bio?: string;
}

export type Handler = (request: HttpRequest) => HttpResponse;

/** The profiles the server starts with. 123 has non-ASCII text, so bytes and characters differ. */
export function seedProfiles(): Map<number, Profile> {
  return new Map([
    [123, { id: 123, name: "Zoë Ångström", bio: "Writes parsers — one byte at a time." }],
    [124, { id: 124, name: "Ada Lovelace", bio: "Saw the engine beyond the numbers." }],
  ]);
}

/** The methods defined by RFC 9110 §9 and RFC 5789 (PATCH). Others get 501. */
export const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

export function createProfileApi(profiles: Map<number, Profile> = seedProfiles()): Handler {
  // TODO: Keep the next id to hand out: one more than the largest seeded id.
  // TODO: Return a named function handleProfileRequest(request) that:
  //   - RFC 9110 §9.1: "An origin server that receives a request method that is unrecognized or
  //     not implemented SHOULD respond with the 501 (Not Implemented) status code." Methods are
  //     case-sensitive: "get" is not GET. (KNOWN_METHODS)
  //   - matches the path without its query string;
  //   - /profile: POST creates a profile, any other method gets 405 with Allow: POST;
  //   - /profile/<digits>: GET and HEAD (HEAD is GET without the body; the response writer
  //     leaves the body out) answer the profile or 404; other methods get 405, Allow: GET, HEAD;
  //   - anything else is 404.
  //   Every answer is json(status, value, headers?) from response.ts.
  // TODO: RFC 9110 §15.5.6: a 405 response MUST list the methods the resource supports in Allow
  //   (a small helper notAllowed(method, allow) keeps that in one place).
  // TODO: Creating a profile: the body is bytes until here. Decode it once, whole, with
  // new TextDecoder("utf-8", { fatal: true }) so bytes that are not UTF-8 are refused, then
  // JSON.parse. Not JSON, not an object or no "name" string: 400. Keep name (and bio, if it is a
  // string), store it, answer 201 with a Location header.
  return todo("lesson-03-http", "createProfileApi()", "Step 4");
}
