import type { ExecutionResult } from "graphql";
import { createClient, type NetworkError } from "graphql-http";
import { describe, expect, test } from "vitest";
import { within } from "../../shared/testing/patience.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { GRAPHQL_RESPONSE, rethrowStub, startGraphQL } from "./helpers.ts";

const withCurl = testWithTool("curl", "install curl (apt-get install curl, brew install curl)");

/** curl with -i (the head too), as text; a stub the server reached fails with its message. */
async function curl(args: string[]): Promise<{ status: number; head: string; body: string }> {
  const { stdout } = await run("curl", ["-sS", "-i", ...args]);
  const end = stdout.indexOf("\r\n\r\n");
  const head = stdout.slice(0, end);
  const status = Number(head.slice(9, 12));
  rethrowStub(status);
  return { status, head, body: stdout.slice(end + 4) };
}

/** One operation with graphql-http's client: its result, or the error it ended with. */
function execute(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<ExecutionResult> {
  const client = createClient({ url, fetchFn: fetch });
  const result = new Promise<ExecutionResult>((resolve, reject) => {
    let last: ExecutionResult | undefined;
    client.subscribe(
      { query, variables },
      {
        next: (value) => (last = value as ExecutionResult),
        error: reject,
        complete: () =>
          last === undefined
            ? reject(new Error("the client completed with no result"))
            : resolve(last),
      },
    );
  });
  return within(result, `a result for ${query} through graphql-http's client`)
    .catch((error: unknown) => {
      rethrowStub(); // a stub the server reached, rather than the client's "responded with 500"
      throw error;
    })
    .finally(() => client.dispose());
}

describe("Step 3: GraphQL over HTTP", () => {
  describe("curl", () => {
    withCurl("curl -g GET with the query in the URL answers the name", async () => {
      const { url } = await startGraphQL();
      // -g (--globoff): without it curl reads {...} in a URL as its own pattern syntax.
      const { status, head, body } = await curl(["-g", `${url}?query={user(id:"123"){name}}`]);
      expect(status, head).toBe(200);
      expect(JSON.parse(body)).toEqual({ data: { user: { name: "Ada Lovelace" } } });
    });

    withCurl(
      "curl -d with -H 'Content-Type: application/json' POSTs a query; curl's Accept: */* gets application/json",
      async () => {
        const { url } = await startGraphQL();
        const { status, head, body } = await curl([
          "-H",
          "Content-Type: application/json",
          "-d",
          JSON.stringify({
            query: "query($id: ID!) { user(id: $id) { email } }",
            variables: { id: "123" },
          }),
          url,
        ]);
        expect(status, head).toBe(200);
        expect(head.toLowerCase(), head).toMatch(
          /\r\ncontent-type: application\/json; ?charset=utf-8/,
        );
        expect(JSON.parse(body)).toEqual({
          data: { user: { email: "ada.lovelace.123@example.com" } },
        });
      },
    );

    withCurl("curl -d alone sends application/x-www-form-urlencoded, and is told 415", async () => {
      const { url } = await startGraphQL();
      const { status, head, body } = await curl([
        "-d",
        JSON.stringify({ query: "{ __typename }" }),
        url,
      ]);
      expect(status, `${head}\r\n\r\n${body}`).toBe(415);
      expect(
        (JSON.parse(body) as { errors: { message: string }[] }).errors[0]?.message,
        "the error names the type that was sent",
      ).toMatch(/x-www-form-urlencoded/);
    });
  });

  describe("graphql-http's client", () => {
    test("its query with variables gets the data (it asks for application/graphql-response+json)", async () => {
      const { url, requests } = await startGraphQL();
      const result = await execute(url, "query($id: ID!) { user(id: $id) { name } }", {
        id: "123",
      });
      expect(result).toEqual({ data: { user: { name: "Ada Lovelace" } } });
      expect(requests[0]?.headers.accept, "what the client sent").toContain(GRAPHQL_RESPONSE);
    });

    test("a field's error comes to it as data and errors, with the error's path and code", async () => {
      const { url } = await startGraphQL();
      const result = await execute(
        url,
        'mutation { addReview(userId: "123", input: { rating: 9, comment: "!" }) { id } }',
      );
      expect(result.data).toEqual({ addReview: null });
      expect(result.errors?.[0]?.path).toEqual(["addReview"]);
      expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    });

    test("a document that does not validate is a 400 to it, as graphql-response+json says", async () => {
      const { url } = await startGraphQL();
      const error = (await execute(url, "{ nope }").then(
        () => new Error("the client got a result for a document that does not validate"),
        (e: unknown) => e,
      )) as NetworkError<Response>;
      rethrowStub();
      expect(error.name, String(error)).toBe("NetworkError");
      expect(error.response?.status, String(error)).toBe(400);
    });
  });
});
