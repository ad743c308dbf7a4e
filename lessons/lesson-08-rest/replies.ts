/**
 * Reading replies in the tests of Steps 1 and 2: a reply as a learner can read it in a failure,
 * the Link header as RFC 8288 §3 writes it, and a problem document (RFC 9457) checked as a whole.
 */
import { expect } from "vitest";
import { ProblemSchema, type Problem } from "#lesson/lesson-08-rest/schemas.ts";
import { isNotWritten, notWrittenIn } from "../../shared/testing/server-log.ts";
import { show } from "../../shared/testing/bytes.ts";
import { within } from "../../shared/testing/patience.ts";
import { connect, Inbox } from "../../shared/testing/net.ts";
import type { Api, Reply } from "./helpers.ts";

/**
 * "sent: GET /users/123 / Accept: ... / received: 404 ... {body}", for a failure message: the
 * request with the headers that decide the answer (Accept, Content-Type, If-Match, If-None-Match,
 * Idempotency-Key), then the reply's status, headers and body.
 */
export function described(sent: string, reply: Reply): string {
  const headers = [...reply.headers].map(([name, value]) => `${name}: ${value}`).join("\n    ");
  const asked = (reply.sent ?? []).map((line) => `\n    ${line}`).join("");
  return `  sent:     ${sent}${asked}\n  received: ${reply.status}\n    ${headers}\n  body:     ${show(reply.text, 600)}`;
}

/**
 * The target of the link with relation `rel` in a Link header (RFC 8288 §3), resolved against the
 * URL of the request it came with, as a client does (§3.1, RFC 3986 §5). Undefined when there is
 * no such link. Each link is `<target>; param; param`; `rel` holds one or more relation types,
 * separated by spaces, compared without case (§2.1.1).
 */
export function linkTarget(
  header: string | null,
  rel: string,
  requestUrl: string,
): string | undefined {
  if (header === null) return undefined;
  for (const link of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const [, target = "", params = ""] = link;
    for (const param of params.split(";")) {
      const match = /^\s*rel\s*=\s*(?:"([^"]*)"|(\S+))\s*$/i.exec(param);
      const types = (match?.[1] ?? match?.[2] ?? "").toLowerCase().split(/\s+/);
      if (types.includes(rel)) return new URL(target, requestUrl).href;
    }
  }
  return undefined;
}

/**
 * Checks that `reply` is a problem document (RFC 9457 §3) of this status and type: served as
 * application/problem+json, with the members of ProblemSchema, `status` the same as the reply's,
 * and `type` ending in the type's name (`.../problems/not-found`). Returns the document.
 */
export function expectProblem(sent: string, reply: Reply, status: number, type: string): Problem {
  const why = described(sent, reply);
  expect(reply.status, `Expected ${status}.\n${why}`).toBe(status);
  expect(
    reply.headers.get("content-type"),
    `A problem is served as application/problem+json (RFC 9457 §3), so that a client can tell it from a representation without reading it.\n${why}`,
  ).toMatch(/^application\/problem\+json\s*(;|$)/i);
  const parsed = ProblemSchema.safeParse(reply.json);
  expect(
    parsed.success,
    `A problem document has type, title, status and detail (RFC 9457 §3.1), and errors is a list of { pointer, reason }: ${parsed.error?.message}\n${why}`,
  ).toBe(true);
  const problem = parsed.data as Problem;
  expect(problem.status, `The document's status is the reply's (RFC 9457 §3.1.2).\n${why}`).toBe(
    status,
  );
  expect(problem.type, `Expected a problem of type .../${type}.\n${why}`).toMatch(
    new RegExp(`/${type}$`),
  );
  return problem;
}

/** Sends `head` (and `body`) as they are on a new connection, and reads the whole reply. */
export async function rawExchange(api: Api, head: string, body = ""): Promise<string> {
  const { hostname, port } = new URL(api.base);
  const socket = await connect({ host: hostname, port: Number(port) });
  const inbox = new Inbox(socket);
  socket.end(`${head}\r\nConnection: close\r\n\r\n${body}`);
  const bytes = await within(
    inbox.untilEnd(),
    () => `the server's reply and its close, after ${show(head)}; it sent ${show(inbox.bytes())}`,
  );
  const text = bytes.toString("utf8");
  const stub = api.log.map((entry) => entry.error).find(isNotWritten);
  if (stub) throw stub;
  const unwritten = text.startsWith("HTTP/1.1 500 ") ? notWrittenIn(text) : undefined;
  if (unwritten) throw new Error(unwritten);
  return text;
}
