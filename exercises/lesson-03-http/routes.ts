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
  // TODO (Step 3): RFC 9110 §9.1: a method the server does not recognize gets 501; methods are
  // case-sensitive ("get" is not GET). KNOWN_METHODS lists those it does.
  // TODO (Step 3): The path is the target without its query string (RFC 9110 §4.2).
  // TODO (Step 3): GET /profile/<id>: the profile as JSON, or 404. HEAD is answered exactly as
  // GET (RFC 9110 §9.3.2): the response writer leaves out the body.
  // TODO (Step 3): RFC 9110 §15.5.6: a method the resource does not support gets 405, and the
  // response MUST list those it does in Allow: "GET, HEAD" for /profile/<id>, "POST" for
  // /profile. Any other path: 404.
  // TODO (Step 5): POST /profile with {"name": "...", "bio"?: "..."}: 201 Created, a Location
  // header naming the new profile, and the profile as JSON; new ids follow the largest one.
  // The body is bytes: decode it once, whole, as UTF-8, refusing bytes that are not UTF-8
  // rather than replacing them; not JSON, not an object, no "name" string: 400.
  return todo("lesson-03-http", "createProfileApi()", "Step 3");
}
