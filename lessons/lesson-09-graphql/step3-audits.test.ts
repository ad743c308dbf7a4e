import http from "node:http";
import express from "express";
import { graphql } from "graphql";
import { serverAudits, type AuditResult } from "graphql-http";
import { describe, expect, test } from "vitest";
import { createSchema } from "#lesson/lesson-09-graphql/schema.ts";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { rethrowStub, startGraphQL } from "./helpers.ts";

/**
 * graphql-http's audits: the checks its authors wrote from the GraphQL-over-HTTP spec, each a
 * request with fetch and an expectation on the response. Each audit's name starts with how much
 * the spec asks: MUST (a failure is an "error"), SHOULD (a "warn"), MAY (a "notice"). Your
 * handler is asked to pass every one of them.
 */
let current = "";
const audits = serverAudits({ url: () => current, fetchFn: fetch });

/** What a failed audit saw: its reason, and the response's status, type and body. */
async function failure(result: AuditResult): Promise<string> {
  if (result.status === "ok") return "ok";
  let body = "(body already read)";
  try {
    body = show(await result.response.clone().text(), 300);
  } catch {
    // The audit read the body itself; the reason says what it found.
  }
  const type = result.response.headers.get("content-type") ?? "no Content-Type";
  return `${result.status}: ${result.reason}\n  received: ${result.response.status} (${type}) ${body}`;
}

/** The audits against `url` at once, as graphql-http's auditServer() does; `only`: these ids. */
function auditAll(url: string, only?: string[]): Promise<AuditResult[]> {
  const chosen = serverAudits({ url, fetchFn: fetch }).filter(
    (audit) => only === undefined || only.includes(audit.id),
  );
  return Promise.all(chosen.map((audit) => audit.fn()));
}

const ids = (results: AuditResult[], status: AuditResult["status"]): string[] =>
  results.filter((r) => r.status === status).map((r) => r.id);

describe("Step 3: GraphQL over HTTP", () => {
  describe("graphql-http's server audits", () => {
    for (const audit of audits) {
      test(`${audit.id}: ${audit.name}`, async () => {
        const { url } = await startGraphQL();
        current = url;
        const result = await within(audit.fn(), `an answer to audit ${audit.id}'s request`);
        rethrowStub();
        expect(result.status, await failure(result)).toBe("ok");
      });
    }
  });

  test("a plain express.json() and graphql() handler fails 7 SHOULD audits; yours passes them", async () => {
    // The handler most tutorials show: it parses JSON, runs graphql(), sends res.json(). It
    // answers every GraphQL error with 200 application/json, and a POST without Content-Type
    // reaches graphql() with no body at all.
    const schema = createSchema();
    const app = express();
    app.post("/graphql", express.json(), async (req, res) => {
      const { query, variables, operationName } = req.body as {
        query: string;
        variables?: Record<string, unknown>;
        operationName?: string;
      };
      res.json(await graphql({ schema, source: query, variableValues: variables, operationName }));
    });
    const naive = await listen(http.createServer(app));
    const { url } = await startGraphQL();
    // Yours answers every audit in the tests above; here, the seven the plain handler fails.
    const SEVEN = ["22EB", "9ABE", "865D", "556A", "51FE", "74FF", "86EE"];
    const [theirs, yours] = await within(
      Promise.all([auditAll(`http://${naive.host}:${naive.port}/graphql`), auditAll(url, SEVEN)]),
      `answers to the audits' requests: all ${audits.length} to the plain handler, 7 to yours`,
      3_500,
    );
    rethrowStub();

    expect(ids(theirs, "error"), "the plain handler passes every MUST").toEqual([]);
    expect(ids(theirs, "warn").sort(), "the SHOULDs the plain handler fails").toEqual(
      [...SEVEN].sort(),
    );
    for (const id of SEVEN) {
      const result = yours.find((r) => r.id === id);
      expect(result?.status, `${id} on your handler: ${result ? await failure(result) : "?"}`).toBe(
        "ok",
      );
    }
  });
});
