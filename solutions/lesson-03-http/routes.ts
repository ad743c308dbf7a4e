/**
 * The profile API, the application behind the protocol. It sees parsed requests and returns
 * responses; it never touches bytes on a socket.
 *
 *   GET  /profile/:id   the profile as JSON, or 404     (HEAD: the same, without the body)
 *   POST /profile       {"name": "..."} creates a profile: 201 with a Location header
 */
import type { HttpRequest } from "./parser.ts";
import { json, type HttpResponse } from "./response.ts";

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
  let nextId = Math.max(0, ...profiles.keys()) + 1;

  return function handleProfileRequest(request: HttpRequest): HttpResponse {
    const { method } = request;
    // RFC 9110 §9.1: "An origin server that receives a request method that is unrecognized or
    // not implemented SHOULD respond with the 501 (Not Implemented) status code." Methods are
    // case-sensitive: "get" is not GET.
    if (!KNOWN_METHODS.has(method)) {
      return json(501, { error: `Method ${JSON.stringify(method)} is not implemented` });
    }

    const [path = ""] = request.target.split("?");
    if (path === "/profile") {
      if (method !== "POST") return notAllowed(method, "POST");
      return createProfile(request.body);
    }

    const match = /^\/profile\/(\d{1,9})$/.exec(path);
    if (match !== null) {
      // HEAD is GET without the body; the response writer leaves the body out.
      if (method !== "GET" && method !== "HEAD") return notAllowed(method, "GET, HEAD");
      const profile = profiles.get(Number(match[1]));
      if (profile === undefined) return json(404, { error: `No profile with id ${match[1]}` });
      return json(200, profile);
    }

    return json(404, { error: `Nothing at ${path}` });
  };

  function createProfile(body: Buffer): HttpResponse {
    let input: unknown;
    try {
      // The body is bytes until here. It is decoded once, whole, so a character split across two
      // TCP chunks decodes correctly; `fatal` refuses bytes that are not UTF-8.
      input = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (error) {
      return json(400, { error: `The body is not UTF-8 JSON: ${(error as Error).message}` });
    }
    if (
      typeof input !== "object" ||
      input === null ||
      !("name" in input) ||
      typeof input.name !== "string"
    ) {
      return json(400, { error: 'The body must be a JSON object with a "name" string' });
    }
    const profile: Profile = { id: nextId++, name: input.name };
    if ("bio" in input && typeof input.bio === "string") profile.bio = input.bio;
    profiles.set(profile.id, profile);
    return json(201, profile, { Location: `/profile/${profile.id}` });
  }
}

/** RFC 9110 §15.5.6: a 405 response MUST list the methods the resource supports in Allow. */
function notAllowed(method: string, allow: string): HttpResponse {
  return json(405, { error: `${method} is not allowed here` }, { Allow: allow });
}
