/**
 * Every response the tests receive is checked against the API's documented contract: the
 * reference's OpenAPI document (Step 5). helpers.ts's request() calls checkContract() on each
 * reply, so a test of Step 1 that only looks at a status still fails when the body it got is not
 * the documented shape, with a message that says which operation, which status and what differs.
 *
 * The check, for `GET /users/123?x=1` answered 200:
 *   1. the path matches a documented template (`/users/{id}`); a path the API does not have may
 *      only be answered 404 with a problem;
 *   2. the method is documented on it; a method it lacks may only be answered 405 with a problem
 *      and an Allow that lists the documented methods (HEAD is checked as GET, without a body);
 *   3. the status is documented for that operation;
 *   4. every header the document marks `required` is there;
 *   5. the Content-Type is one the document gives for that status, and a JSON body validates
 *      against its schema (ajv, JSON Schema 2020-12); a status documented without content has
 *      an empty body; a problem's `status` is the response's (RFC 9457 §3.1.2).
 *
 * Parts a later step brings (problem documents, the caching headers) are asked of a reply only
 * once the learner has written that step: see `Pending` below.
 *
 * `contractFor(document)` makes the same check for any document: Step 5's tests use it to hold
 * the learner's own document to the replies the learner's app gives.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { z } from "zod";
import { etagOf } from "#lesson/lesson-08-rest/caching.ts";
import { invalidParams } from "#lesson/lesson-08-rest/problem.ts";
import { openApiDocument } from "#reference/lesson-08-rest/openapi.ts";
import { isNotWritten } from "#shared/testing/server-log.ts";
import type { Reply } from "./helpers.ts";

// ajv-formats is CommonJS: its default export is the plugin, under `default` once more in ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

/** What a reply broke. `code` is stable; the message says what the document expects. */
export class ContractError extends Error {
  readonly code = "CONTRACT_MISMATCH";
  constructor(message: string) {
    super(message);
    this.name = "ContractError";
  }
}

export type Check = (method: string, path: string, reply: Reply) => void;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** A document path template, split for matching: `/users/{id}` → ["users", "{id}"]. */
interface Template {
  path: string;
  segments: string[];
  item: Json;
}

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The media type's essence: `application/json; charset=utf-8` → `application/json`. */
function essence(contentType: string | null): string | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type === "" ? undefined : type;
}

const isJson = (mediaType: string): boolean =>
  mediaType === "application/json" || mediaType.endsWith("+json");

/** A JSON Pointer (RFC 6901) token: "~" is "~0" and "/" is "~1". */
const token = (key: string): string => key.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * What is made from a document, kept by the document's text: tests fetch the same document from
 * apps of their own, and what is compiled from it is compiled once.
 */
export function byText<T>(make: (document: Json) => T): (document: Json) => T {
  const made = new Map<string, T>();
  return (document) => {
    const text = JSON.stringify(document);
    let value = made.get(text);
    if (value === undefined) made.set(text, (value = make(document)));
    return value;
  };
}

/** Where ajvFor() puts a document's paths and components: `${DOCUMENT_ID}#/components/...`. */
export const DOCUMENT_ID = "urn:contract:openapi";

/**
 * An ajv holding the document's paths and components as one schema, under DOCUMENT_ID, so that
 * every "#/components/..." in them resolves inside them. To ajv the two are keywords with nothing
 * to check: it compiles only the parts a pointer names, once each. One per document, shared by
 * every contract of it and by Step 5's tests: a new ajv compiles the JSON Schema 2020-12
 * meta-schema again before its first schema.
 */
export const ajvFor = byText((document: Json): Ajv2020 => {
  // verbose: each error carries the schema object it came from, which `places` can name.
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  addFormats(ajv);
  ajv.addKeyword("paths");
  ajv.addKeyword("components");
  ajv.addSchema({ paths: document.paths, components: document.components }, DOCUMENT_ID);
  return ajv;
});

/** The contract of one document: each schema is compiled once, when a reply first needs it. */
export function contractFor(
  document: Json,
  /** Which document it is, for the messages. */
  source = "the reference's OpenAPI document",
  /** What the learner has not written yet, and so is not asked of a reply (see checkContract). */
  pending: Pending = {},
): Check {
  const ajv = ajvFor(document);
  const places = placesOf(document);
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string): ValidateFunction => {
    let validate = compiled.get(pointer);
    if (validate === undefined) {
      validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer}`);
      if (validate === undefined)
        throw new ContractError(`The document has no schema at #${pointer}`);
      compiled.set(pointer, validate);
    }
    return validate;
  };

  /** Follows a Reference Object ($ref "#/...") inside the document, with the pointer it ends at. */
  const resolve = (value: unknown, pointer: string): { value: Json; pointer: string } => {
    let at = value;
    let where = pointer;
    for (let hops = 0; isObject(at) && typeof at.$ref === "string"; hops++) {
      const target = at.$ref;
      if (!target.startsWith("#/") || hops > 10)
        throw new ContractError(`Cannot follow $ref ${target} at #${where}`);
      where = target.slice(1);
      at = target
        .slice(2)
        .split("/")
        .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
        .reduce<unknown>((node, part) => (isObject(node) ? node[part] : undefined), document);
    }
    if (!isObject(at)) throw new ContractError(`The document has nothing at #${where}`);
    return { value: at, pointer: where };
  };

  const paths = isObject(document.paths) ? document.paths : {};
  const templates: Template[] = Object.entries(paths)
    .filter((entry): entry is [string, Json] => isObject(entry[1]))
    .map(([path, item]) => ({ path, segments: path.split("/").filter(Boolean), item }))
    // A literal segment wins over a {parameter} where both match (`/users/me` before `/users/{id}`).
    .sort((a, b) => score(b) - score(a));

  const match = (pathname: string): Template | undefined => {
    // express matches without case and with or without a trailing slash; so does the check.
    const segments = pathname.split("/").filter(Boolean);
    return templates.find(
      (t) =>
        t.segments.length === segments.length &&
        t.segments.every((s, i) =>
          /^\{[^}]+\}$/.test(s)
            ? segments[i] !== ""
            : s.toLowerCase() === segments[i]?.toLowerCase(),
        ),
    );
  };

  /** A reply checked against one documented response: headers, media type, body. */
  const checkResponse = (
    where: string,
    reply: Reply,
    documented: { value: Json; pointer: string },
    head: boolean,
  ): void => {
    const fail = (what: string, expected: string): never => {
      throw new ContractError(
        `${where}: ${what}.\n  The documented contract (${source}, #${documented.pointer}) expects ${expected}.` +
          `\n  received: ${received(reply)}`,
      );
    };
    const response = documented.value;
    const headers = isObject(response.headers) ? response.headers : {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === "content-type") continue; // OpenAPI ignores it: content says it
      const header = resolve(value, `${documented.pointer}/headers/${token(name)}`).value;
      if (pending.caching === true && CACHING_HEADERS.has(name.toLowerCase())) continue;
      if (header.required === true && !reply.headers.has(name)) {
        fail(
          `the ${name} header is missing`,
          `the ${name} header (${String(header.description ?? "required")})`,
        );
      }
    }
    if (head) return; // HEAD: the same head as GET (RFC 9110 §9.3.2), and never a body
    if (pending.problems === true && reply.status >= 400) return;
    const content = isObject(response.content) ? response.content : undefined;
    if (content === undefined) {
      if (reply.text !== "") {
        fail(`a body came, but ${reply.status} is documented without content`, "no body");
      }
      return;
    }
    const mediaTypes = Object.keys(content);
    const sent = essence(reply.headers.get("content-type"));
    const mediaType = mediaTypes.find((type) => type.toLowerCase() === sent);
    if (mediaType === undefined) {
      fail(
        `Content-Type ${sent ?? "(none)"} is not the documented one`,
        `Content-Type ${mediaTypes.join(" or ")}`,
      );
    }
    const media = content[mediaType as string];
    if (!isJson(mediaType as string) || !isObject(media) || media.schema === undefined) return;
    if (reply.json === undefined) fail("the body is not JSON", `a JSON body (${mediaType})`);
    const pointer = `${documented.pointer}/content/${token(mediaType as string)}/schema`;
    const validate = validatorAt(pointer);
    if (!validate(reply.json)) {
      const schema =
        isObject(media.schema) && typeof media.schema.$ref === "string"
          ? media.schema.$ref
          : `#${pointer}`;
      fail(
        `the body does not match its schema:\n${describe(validate.errors ?? [], places)}`,
        `a body valid against ${schema}`,
      );
    }
    if (
      mediaType === "application/problem+json" &&
      isObject(reply.json) &&
      reply.json.status !== reply.status
    ) {
      fail(
        `the problem's "status" is ${JSON.stringify(reply.json.status)} in a ${reply.status} response`,
        `"status": ${reply.status}: RFC 9457 §3.1.2 has the member repeat the response's status code`,
      );
    }
  };

  /**
   * A request no operation documents still gets a documented answer: the refusals any request can
   * meet before it reaches one. A path the API lacks is 404 and a method a path lacks is 405, each
   * as its response in components.responses; an Accept without JSON is 406 before either.
   */
  const fallback = (
    where: string,
    reply: Reply,
    allowed: Record<number, string>,
    head: boolean,
    expected: string,
  ): void => {
    const name = allowed[reply.status];
    if (name === undefined) {
      throw new ContractError(
        `${where}: ${expected}; the server answered ${reply.status}.\n  received: ${received(reply)}`,
      );
    }
    checkResponse(
      `${where}, status ${reply.status}`,
      reply,
      resolve({ $ref: `#/components/responses/${name}` }, `/components/responses/${name}`),
      head,
    );
  };

  return function check(method, path, reply) {
    const pathname = new URL(path, "http://api.invalid").pathname;
    const verb = method.toLowerCase();
    const asked = `${method.toUpperCase()} ${path}`;
    const template = match(pathname);
    if (template === undefined) {
      fallback(
        `${asked} (the API documents no path like ${pathname}; it has ${templates.map((t) => t.path).join(", ")})`,
        reply,
        { 404: "NotFound", 406: "NotAcceptable" },
        verb === "head",
        "a path the API does not have is answered 404 Not Found, with a problem document",
      );
      return;
    }
    const documented = METHODS.filter((m) => isObject(template.item[m]));
    // HEAD is GET without a body (RFC 9110 §9.3.2): express answers it from the GET route.
    const head = verb === "head" && !documented.includes("head");
    const operationMethod = head ? "get" : verb;
    const operation = template.item[operationMethod];
    if (!isObject(operation)) {
      const allow = [
        ...documented.map((m) => m.toUpperCase()),
        ...(documented.includes("get") && !documented.includes("head") ? ["HEAD"] : []),
      ];
      const where = `${asked} (${template.path} has no ${method.toUpperCase()}; its methods are ${allow.join(", ")})`;
      fallback(
        where,
        reply,
        { 405: "MethodNotAllowed", 406: "NotAcceptable" },
        false,
        `a method the resource lacks is answered 405 Method Not Allowed with Allow: ${allow.join(", ")} (RFC 9110 §15.5.6)`,
      );
      if (reply.status !== 405) return;
      const sent = (reply.headers.get("allow") ?? "")
        .split(",")
        .map((m) => m.trim().toLowerCase())
        .filter(Boolean);
      // OPTIONS is the reference's courtesy, not a method a client needs to be told of.
      const missing = documented.filter((m) => m !== "options" && !sent.includes(m));
      const extra = sent.filter(
        (m) => !(METHODS as readonly string[]).includes(m) || !allow.includes(m.toUpperCase()),
      );
      if (missing.length > 0 || extra.length > 0) {
        throw new ContractError(
          `${where}, status 405: Allow is ${JSON.stringify(reply.headers.get("allow") ?? "")}, but the ` +
            `resource's documented methods are ${allow.join(", ")} (RFC 9110 §10.2.1: Allow lists the ` +
            `methods the target resource supports).`,
        );
      }
      return;
    }
    const operationName = `${operationMethod.toUpperCase()} ${template.path}${typeof operation.operationId === "string" ? ` (${operation.operationId})` : ""}`;
    const where = `${asked}: ${operationName}${head ? " asked with HEAD" : ""}, status ${reply.status}`;
    const responses = isObject(operation.responses) ? operation.responses : {};
    const status = String(reply.status);
    const key = [status, `${status[0]}XX`, "default"].find((k) => responses[k] !== undefined);
    if (key === undefined) {
      throw new ContractError(
        `${where}: ${reply.status} is not a documented status of ${operationName}. ` +
          `The documented contract (${source}) gives ${Object.keys(responses).join(", ")} for it.\n` +
          `  received: ${received(reply)}`,
      );
    }
    const pointer = `/paths/${token(template.path)}/${operationMethod}/responses/${key}`;
    checkResponse(where, reply, resolve(responses[key], pointer), head);
  };
}

/** A reply in one line: status, Content-Type, the start of the body. */
function received(reply: Reply): string {
  const body =
    reply.text.length > 300
      ? `${reply.text.slice(0, 300)}… (${reply.text.length} characters)`
      : reply.text;
  return `${reply.status}, Content-Type ${reply.headers.get("content-type") ?? "(none)"}, ${body === "" ? "no body" : body}`;
}

/** How specific a template is: literal segments count more than parameters. */
function score(template: Template): number {
  return template.segments.reduce((sum, s) => sum + (s.startsWith("{") ? 1 : 2), 0);
}

/**
 * Where each object of the document is, as a JSON Pointer: ajv names a rule relative to the schema
 * it is in, and a schema reached by $ref is not where the reply's pointer started.
 */
function placesOf(document: Json): WeakMap<object, string> {
  const places = new WeakMap<object, string>();
  const visit = (node: unknown, pointer: string): void => {
    if (typeof node !== "object" || node === null || places.has(node)) return;
    places.set(node, pointer);
    for (const [key, value] of Object.entries(node)) visit(value, `${pointer}/${token(key)}`);
  };
  visit(document, "");
  return places;
}

/** ajv's errors as lines: where in the body (a JSON Pointer), what was wrong, which rule said so. */
function describe(errors: ErrorObject[], places: WeakMap<object, string>): string {
  return errors
    .slice(0, 8)
    .map((e) => {
      const extra =
        e.keyword === "additionalProperties"
          ? ` (${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)})`
          : "";
      const parent = e.parentSchema === undefined ? undefined : places.get(e.parentSchema);
      const rule = parent === undefined ? e.schemaPath : `#${parent}/${e.keyword}`;
      return `    body ${e.instancePath === "" ? "itself" : `at ${e.instancePath}`}: ${e.message ?? e.keyword}${extra} (rule ${rule})`;
    })
    .join("\n");
}

/**
 * The parts of the contract that belong to a later step than the one the learner is on. Until
 * Step 2's problem.ts is written, an error reply is whatever express makes of it, so only its
 * status is checked; until Step 3's caching.ts is written, a representation has no ETag or
 * Cache-Control yet. The rest of the contract holds from Step 1.
 */
export interface Pending {
  problems?: boolean;
  caching?: boolean;
}

const CACHING_HEADERS = new Set(["etag", "cache-control"]);

/** Whether a function of the learner's is still the stub: it throws the not-written error. */
function unwritten(probe: () => unknown): boolean {
  try {
    probe();
    return false;
  } catch (error) {
    return isNotWritten(error);
  }
}

let reference: Check | undefined;

/** Checks a reply the tests received against the reference's OpenAPI document; throws ContractError. */
export function checkContract(method: string, path: string, reply: Reply): void {
  reference ??= contractFor(openApiDocument(), undefined, {
    problems: unwritten(() => invalidParams(new z.ZodError([]))),
    caching: unwritten(() => etagOf({})),
  });
  reference(method, path, reply);
}
