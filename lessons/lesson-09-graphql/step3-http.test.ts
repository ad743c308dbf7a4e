import http from "node:http";
import { GraphQLError, type ValidationRule } from "graphql";
import { describe, expect, test } from "vitest";
import { negotiate } from "#lesson/lesson-09-graphql/handler.ts";
import { show } from "../../shared/testing/bytes.ts";
import { within } from "../../shared/testing/patience.ts";
import { RawClient } from "../../shared/testing/raw.ts";
import {
  ask,
  GRAPHQL_RESPONSE,
  JSON_TYPE,
  mediaTypeOf,
  rethrowStub,
  serverLog,
  startGraphQL,
  type Reply,
} from "./helpers.ts";

const USER_NAME = "query User($id: ID!) { user(id: $id) { name } }";
const ADA = { user: { name: "Ada Lovelace" } };

/** The status, the media type and the body of a reply, to compare in one expectation. */
function summary(reply: Reply): { status: number; type: string | null } {
  return { status: reply.status, type: mediaTypeOf(reply.headers.get("content-type")) };
}

/** Both media types, with the Accept that asks for each. */
const ACCEPTS = [
  { accept: GRAPHQL_RESPONSE, type: GRAPHQL_RESPONSE },
  { accept: JSON_TYPE, type: JSON_TYPE },
] as const;

describe("Step 3: GraphQL over HTTP", () => {
  describe("POST and GET", () => {
    test("a POST of application/json runs the query with its variables", async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, {
        body: { query: USER_NAME, variables: { id: "123" }, operationName: "User" },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(summary(reply), reply.shown).toEqual({ status: 200, type: GRAPHQL_RESPONSE });
      expect(reply.json, reply.shown).toEqual({ data: ADA });
      expect(
        reply.headers.get("content-type")?.toLowerCase().replace(/\s/g, ""),
        "the response says its charset: GraphQL over HTTP answers in UTF-8",
      ).toBe(`${GRAPHQL_RESPONSE};charset=utf-8`);
    });

    test("extensions and null parameters are accepted and change nothing", async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, {
        body: {
          query: '{ user(id: "123") { name } }',
          variables: null,
          operationName: null,
          extensions: { persistedQuery: { version: 1 } },
        },
      });
      expect(reply.status, reply.shown).toBe(200);
      expect(reply.json, reply.shown).toEqual({ data: ADA });
    });

    test("a GET takes query, operationName and variables from the URL's query string", async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, {
        params: { query: USER_NAME, operationName: "User", variables: { id: "123" } },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(summary(reply), reply.shown).toEqual({ status: 200, type: GRAPHQL_RESPONSE });
      expect(reply.json, reply.shown).toEqual({ data: ADA });
    });

    test("operationName picks one operation of several; a name the document lacks is a request error", async () => {
      const { url } = await startGraphQL();
      const query = `${USER_NAME} query Count { users(first: 2) { edges { cursor } } }`;
      const picked = await ask(url, {
        body: { query, operationName: "User", variables: { id: "123" } },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(picked.json, picked.shown).toEqual({ data: ADA });
      const unknown = await ask(url, {
        body: { query, operationName: "Nope" },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(unknown.status, `no operation to run is a request error${unknown.shown}`).toBe(400);
      expect(unknown.json.data, unknown.shown).toBeUndefined();
    });

    for (const { accept } of ACCEPTS) {
      test(`a mutation by GET is 405 with Allow: POST, and never runs (Accept: ${accept})`, async () => {
        const { url, store } = await startGraphQL();
        const reply = await ask(url, {
          params: {
            query:
              'mutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { id } }',
          },
          headers: { Accept: accept },
        });
        expect(
          reply.status,
          `a GET must be safe (RFC 9110 §9.2.1): GraphQL over HTTP answers a mutation by GET with 405${reply.shown}`,
        ).toBe(405);
        expect(reply.headers.get("allow"), "405 says which method would do: Allow: POST").toBe(
          "POST",
        );
        expect(
          store.findUserByEmail("eve@example.com"),
          "the mutation ran: check the operation's type before you execute it",
        ).toBeUndefined();
      });
    }

    for (const [what, query, operationName] of [
      [
        "a mutation picked by operationName from a document that also holds a query",
        'query A { user(id: "123") { id } } mutation B { createUser(input: { name: "Eve", email: "eve@example.com" }) { id } }',
        "B",
      ],
      [
        "a mutation after a comment line",
        '# a new user\nmutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { id } }',
        undefined,
      ],
    ] as const) {
      test(`${what}, by GET, is 405 and runs nothing`, async () => {
        const { url, store } = await startGraphQL();
        const reply = await ask(url, {
          params: operationName === undefined ? { query } : { query, operationName },
          headers: { Accept: GRAPHQL_RESPONSE },
        });
        expect(
          reply.status,
          `the operation to run is a mutation: read its type from the parsed document (the operation operationName picks), not from the text, which may begin with a comment or another operation${reply.shown}`,
        ).toBe(405);
        expect(
          store.queryLog,
          `nothing runs on a GET that is refused: the store was asked for ${store.queryLog.join(", ")}`,
        ).toEqual([]);
        expect(store.findUserByEmail("eve@example.com"), "the mutation ran").toBeUndefined();
      });
    }

    test("the same mutation by POST runs", async () => {
      const { url, store } = await startGraphQL();
      const reply = await ask(url, {
        body: {
          query:
            'mutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { name } }',
        },
      });
      expect(reply.json, reply.shown).toEqual({ data: { createUser: { name: "Eve" } } });
      expect(store.findUserByEmail("eve@example.com")?.name).toBe("Eve");
    });

    test("another method is 405 with Allow: GET, POST", async () => {
      const { url } = await startGraphQL();
      for (const method of ["PUT", "DELETE"] as const) {
        const reply = await ask(url, { method, body: { query: "{ __typename }" } });
        expect(reply.status, reply.shown).toBe(405);
        expect(reply.headers.get("allow")?.replace(/\s/g, ""), reply.shown).toBe("GET,POST");
      }
    });
  });

  describe("content negotiation", () => {
    test("Accept: application/json, */*, or no Accept at all: application/json, for clients from before the new type", async () => {
      const { url } = await startGraphQL();
      for (const accept of [JSON_TYPE, "*/*", "application/*", undefined]) {
        const reply = await ask(url, {
          body: { query: "{ __typename }" },
          headers: accept === undefined ? {} : { Accept: accept },
        });
        expect(summary(reply), `Accept: ${accept ?? "(none)"}${reply.shown}`).toEqual({
          status: 200,
          type: JSON_TYPE,
        });
      }
    });

    test("Accept is read by its weights, without case: the type the client prefers", async () => {
      const { url } = await startGraphQL();
      const cases = [
        [`${GRAPHQL_RESPONSE}, ${JSON_TYPE}`, GRAPHQL_RESPONSE], // what graphql-http's client sends
        [`${JSON_TYPE};q=0.9, ${GRAPHQL_RESPONSE}`, GRAPHQL_RESPONSE],
        [`${GRAPHQL_RESPONSE};q=0.5, ${JSON_TYPE}`, JSON_TYPE],
        [`${GRAPHQL_RESPONSE};q=0, */*`, JSON_TYPE],
        ["Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE],
        [`text/html, ${GRAPHQL_RESPONSE}; charset=utf-8`, GRAPHQL_RESPONSE],
      ] as const;
      for (const [accept, type] of cases) {
        const reply = await ask(url, {
          body: { query: "{ __typename }" },
          headers: { Accept: accept },
        });
        expect(summary(reply), `Accept: ${accept}${reply.shown}`).toEqual({ status: 200, type });
      }
    });

    test("an Accept that allows neither media type is 406", async () => {
      const { url } = await startGraphQL();
      for (const accept of ["text/html", "application/xml, text/*", `${JSON_TYPE};q=0`]) {
        const reply = await ask(url, {
          body: { query: "{ __typename }" },
          headers: { Accept: accept },
        });
        expect(
          reply.status,
          `Accept: ${accept} allows neither application/json nor ${GRAPHQL_RESPONSE}: 406 Not Acceptable${reply.shown}`,
        ).toBe(406);
      }
    });

    test("negotiate(): the new type only when named, application/json also through a wildcard, undefined when neither", () => {
      const cases: [accept: string | undefined, expected: string | undefined, why: string][] = [
        [undefined, JSON_TYPE, "no Accept is a client from before the new type"],
        [
          `${GRAPHQL_RESPONSE}, ${JSON_TYPE}`,
          GRAPHQL_RESPONSE,
          "the new type named, as high as application/json",
        ],
        [
          `${GRAPHQL_RESPONSE};q=0.5, ${JSON_TYPE};q=0.5`,
          GRAPHQL_RESPONSE,
          "named at the same weight: the new type",
        ],
        [
          `application/*;q=0.8, ${GRAPHQL_RESPONSE};q=0.2`,
          JSON_TYPE,
          "application/json weighs 0.8 through application/*, above the new type's 0.2",
        ],
        ["*/*", JSON_TYPE, "a wildcard alone is an old client: application/json"],
        [
          `*/*;q=0.1, ${JSON_TYPE};q=0`,
          undefined,
          "application/json is refused by its own range, q=0, the most specific one; */* would accept the new type, but it is sent only to a client that names it",
        ],
        ["image/png", undefined, "neither type is acceptable"],
      ];
      for (const [accept, expected, why] of cases) {
        expect(
          negotiate(accept),
          `Accept: ${accept ?? "(none)"} gives ${expected ?? "undefined (406)"}: ${why}`,
        ).toBe(expected);
      }
    });
  });

  describe("Content-Type and the body", () => {
    test("application/json is read with any case, spaces and a UTF-8 charset", async () => {
      const { url } = await startGraphQL();
      for (const contentType of [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        'application/json; Charset="utf-8"',
        "application/json ; charset=utf-8",
      ]) {
        const reply = await ask(url, {
          body: { query: '{ user(id: "123") { name } }' },
          headers: { "Content-Type": contentType },
        });
        expect(
          reply.status,
          `Content-Type: ${contentType} is application/json: media types and parameter names are case-insensitive (RFC 9110 §8.3.1)${reply.shown}`,
        ).toBe(200);
        expect(reply.json, reply.shown).toEqual({ data: ADA });
      }
    });

    test("a POST without Content-Type, or with another type or charset, is refused with 415 and not run", async () => {
      const { url, store } = await startGraphQL();
      const body = JSON.stringify({
        query: 'mutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { id } }',
      });
      for (const contentType of [
        undefined,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json-patch+json",
        "application/json; charset=latin1",
      ]) {
        // fetch adds text/plain to a string body unless told otherwise: a Blob without a type
        // sends no Content-Type at all.
        const reply =
          contentType === undefined
            ? await askWithoutType(url, body)
            : await ask(url, { body, headers: { "Content-Type": contentType } });
        expect(
          [400, 415],
          `Content-Type: ${contentType ?? "(none)"} is not application/json in UTF-8${reply.shown}`,
        ).toContain(reply.status);
        expect(store.findUserByEmail("eve@example.com"), "a refused request must not run").toBe(
          undefined,
        );
      }
    });

    for (const { accept } of ACCEPTS) {
      test(`a body that is not JSON is 400 (Accept: ${accept})`, async () => {
        const { url } = await startGraphQL();
        for (const body of ['{ "not a JSON', "", "query { __typename }"]) {
          const reply = await ask(url, { body, headers: { Accept: accept } });
          expect(reply.status, `not JSON: the request is not well-formed${reply.shown}`).toBe(400);
        }
      });
    }

    test("a JSON body that is not an object is 400", async () => {
      const { url } = await startGraphQL();
      for (const body of ["[]", '"{ __typename }"', "1", "null", '[{"query":"{ __typename }"}]']) {
        const reply = await ask(url, { body });
        expect(
          reply.status,
          `the body's parameters are the members of one JSON object${reply.shown}`,
        ).toBe(400);
      }
    });

    test("a query that is missing or not a string is 400", async () => {
      const { url } = await startGraphQL();
      for (const body of [{}, { qeury: "{ __typename }" }, { query: 1 }, { query: { a: 1 } }]) {
        const reply = await ask(url, { body });
        expect(reply.status, reply.shown).toBe(400);
      }
    });

    for (const { accept } of ACCEPTS) {
      test(`variables as a string is 400: not parsed, and not a 500 (Accept: ${accept})`, async () => {
        const { url } = await startGraphQL();
        const reply = await ask(url, {
          body: { query: USER_NAME, variables: JSON.stringify({ id: "123" }) },
          headers: { Accept: accept },
        });
        expect(
          reply.status,
          `variables is a map (a JSON object); a string holding JSON was encoded twice, and is the client's mistake${reply.shown}`,
        ).toBe(400);
        expect(reply.json.errors?.[0]?.message, reply.shown).toMatch(/variables/);
      });
    }

    test("variables, operationName and extensions of the wrong type are each 400", async () => {
      const { url } = await startGraphQL();
      const query = "{ __typename }";
      for (const body of [
        { query, variables: [1] },
        { query, variables: 0 },
        { query, operationName: 0 },
        { query, operationName: ["a"] },
        { query, extensions: "x" },
        { query, extensions: false },
      ]) {
        const reply = await ask(url, { body });
        expect(reply.status, reply.shown).toBe(400);
      }
    });

    test("GET variables that are not JSON are 400", async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, { params: { query: USER_NAME, variables: "{id:123" } });
      expect(reply.status, reply.shown).toBe(400);
    });

    test("a body over maxBodyBytes is 413; one at the cap is read", async () => {
      const { url } = await startGraphQL({ maxBodyBytes: 1_000 });
      // A valid request padded with spaces to the byte: a handler that reads it all answers 200.
      const padded = (size: number): string => {
        const json = JSON.stringify({ query: '{ user(id: "123") { name } }' });
        return json.slice(0, -1) + " ".repeat(size - Buffer.byteLength(json)) + "}";
      };
      const atCap = await ask(url, { body: padded(1_000) });
      expect(atCap.status, `1000 bytes is not over a cap of 1000${atCap.shown}`).toBe(200);
      const over = await ask(url, { body: padded(1_001) });
      expect(
        over.status,
        `1001 bytes is over a cap of 1000: 413 Content Too Large${over.shown}`,
      ).toBe(413);
    });

    test("a chunked body (no Content-Length) is cut off at maxBodyBytes", async () => {
      const { url } = await startGraphQL({ maxBodyBytes: 1_000 });
      // One chunk at a time, never ending: a handler that reads to the end never answers.
      const request = http.request(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
      });
      const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
        request.on("response", resolve).on("error", reject);
      });
      request.write(`{"query":"{ __typename }","pad":"`);
      const chunk = "x".repeat(200);
      for (let i = 0; i < 10; i++) request.write(chunk);
      const response = await within(
        answered,
        "413 once the body passed 1000 bytes, without waiting for its end: count the bytes as they come",
      );
      response.resume();
      request.destroy();
      rethrowStub(response.statusCode);
      expect(response.statusCode).toBe(413);
    });

    test("a Content-Length over maxBodyBytes is refused before the body is sent", async () => {
      const { url } = await startGraphQL({ maxBodyBytes: 1_000 });
      const { hostname, port } = new URL(url);
      const client = await RawClient.open({ host: hostname, port: Number(port) });
      const head =
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
        "Content-Length: 1000000\r\n\r\n";
      await client.send(head);
      const bytes = await within(
        client.until((b) => b.includes("\r\n\r\n"), "a response's head"),
        () =>
          `an answer to a head that declares 1000000 bytes, before any of them: the length says the body is over the cap\n  sent:     ${show(head)}\n  received: ${show(client.received)}`,
      );
      rethrowStub(Number(bytes.toString("latin1").slice(9, 12)));
      expect(bytes.toString("latin1").slice(0, 12), show(bytes)).toBe("HTTP/1.1 413");
    });
    for (const [framing, head, body] of [
      ["a declared length", "Content-Length: 1000000\r\n\r\n", ""],
      ["a chunked body", "Transfer-Encoding: chunked\r\n\r\n", `400\r\n${"x".repeat(0x400)}\r\n`],
    ] as const) {
      test(`a 413 for ${framing} says Connection: close, and the connection is closed`, async () => {
        const { url } = await startGraphQL({ maxBodyBytes: 1_000 });
        const { hostname, port } = new URL(url);
        const client = await RawClient.open({ host: hostname, port: Number(port) });
        const sent = `POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n${head}`;
        await client.send(sent, body);
        const bytes = await within(
          client.until((b) => b.includes("\r\n\r\n"), "a response's head"),
          () =>
            `a 413 for a body over 1000 bytes\n  sent:     ${show(client.sent)}\n  received: ${show(client.received)}`,
        );
        const response = bytes.toString("latin1");
        rethrowStub(Number(response.slice(9, 12)));
        const shownHead = show(response.slice(0, response.indexOf("\r\n\r\n") + 4));
        expect(response.slice(0, 12), shownHead).toBe("HTTP/1.1 413");
        expect(
          response.slice(0, response.indexOf("\r\n\r\n") + 2),
          `the rest of the body was not read, so the connection cannot carry another request: the 413 says Connection: close (RFC 9112 §9.6)\n  received: ${shownHead}`,
        ).toMatch(/\r\nconnection: *close *\r\n/i);
        await within(
          client.closed(),
          () =>
            `the server closes the connection after its 413 with Connection: close\n  received: ${show(client.received)}`,
        );
      });
    }
  });

  describe("status codes", () => {
    for (const { accept, type } of ACCEPTS) {
      const status = type === GRAPHQL_RESPONSE ? 400 : 200;
      const why =
        type === GRAPHQL_RESPONSE
          ? "under application/graphql-response+json, a request error (the document never ran) is 400"
          : "under application/json, a well-formed request is 200 even with errors: a legacy client reads the errors";
      for (const [what, body] of [
        ["a parse error", { query: "{ user(id: " }],
        ["a validation error", { query: "{ user(id: 1) { nope } }" }],
        ["variables that do not coerce", { query: USER_NAME, variables: { id: null } }],
      ] as const) {
        test(`${what} is ${status}, errors and no data (Accept: ${accept})`, async () => {
          const { url } = await startGraphQL();
          const reply = await ask(url, { body, headers: { Accept: accept } });
          expect(summary(reply), `${why}${reply.shown}`).toEqual({ status, type });
          expect(reply.json.errors?.length, reply.shown).toBeGreaterThan(0);
          expect(
            "data" in reply.json,
            `no data: the request never reached execution${reply.shown}`,
          ).toBe(false);
        });
      }

      test(`an error while executing is 200 with data and errors (Accept: ${accept})`, async () => {
        const { url } = await startGraphQL();
        const reply = await ask(url, {
          body: {
            query:
              'mutation { addReview(userId: "123", input: { rating: 9, comment: "!" }) { id } }',
          },
          headers: { Accept: accept },
        });
        expect(
          summary(reply),
          `the operation ran and has a result (data, null here): 200, whichever the type${reply.shown}`,
        ).toEqual({ status: 200, type });
        expect(reply.json.data, reply.shown).toEqual({ addReview: null });
        expect(reply.json.errors?.[0]?.extensions?.code, reply.shown).toBe("BAD_USER_INPUT");
      });
    }

    test(`an error that nulls data itself is 200 with "data": null beside the errors (Accept: ${GRAPHQL_RESPONSE})`, async () => {
      const { url } = await startGraphQL();
      const reply = await ask(url, {
        body: { query: "{ users(first: 0) { edges { cursor } } }" },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(
        summary(reply),
        `the operation ran, and its error moved the null up to data: data is null, not absent, so this is no request error but a result, 200 (ask "data" in result, not !result.data)${reply.shown}`,
      ).toEqual({ status: 200, type: GRAPHQL_RESPONSE });
      expect("data" in reply.json, `"data": null is sent beside the errors${reply.shown}`).toBe(
        true,
      );
      expect(reply.json.data, reply.shown).toBeNull();
      expect(reply.json.errors?.length, reply.shown).toBeGreaterThan(0);
    });

    test("a bug is 500 with no detail for the client, and logged", async () => {
      serverLog(); // the bug below is expected: keep it out of the test's output
      const { url } = await startGraphQL({
        context: () => {
          throw new Error("secret: the database password is hunter2");
        },
      });
      const reply = await ask(url, { body: { query: '{ user(id: "123") { name } }' } });
      expect(reply.status, reply.shown).toBe(500);
      expect(reply.text, "no internal message leaves the server").not.toMatch(/hunter2/);
      expect(
        serverLog().some((e) => e instanceof Error && e.message.includes("hunter2")),
        "the error is logged (console.error), where the operator finds it",
      ).toBe(true);
    });
  });

  describe("the options Step 5 builds on", () => {
    test("validationRules are added to graphql-js's own", async () => {
      const noUsers: ValidationRule = (context) => ({
        Field(node) {
          if (node.name.value === "users") context.reportError(new GraphQLError("No users list"));
        },
      });
      const { url } = await startGraphQL({ validationRules: [noUsers] });
      const refused = await ask(url, {
        body: { query: "{ users { edges { cursor } } }" },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(refused.status, refused.shown).toBe(400);
      expect(refused.json.errors?.[0]?.message, refused.shown).toBe("No users list");
      const specified = await ask(url, {
        body: { query: "{ nope }" },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(specified.status, `graphql-js's own rules still apply${specified.shown}`).toBe(400);
    });

    test("maxTokens refuses a longer document before it is parsed", async () => {
      const { url } = await startGraphQL({ maxTokens: 10 });
      const short = await ask(url, { body: { query: '{ user(id: "123") { name } }' } });
      expect(short.status, short.shown).toBe(200);
      const long = await ask(url, {
        body: { query: '{ user(id: "123") { name email reviews { rating } } }' },
        headers: { Accept: GRAPHQL_RESPONSE },
      });
      expect(long.status, long.shown).toBe(400);
      expect(long.json.errors?.[0]?.message, long.shown).toMatch(/tokens/);
    });

    test("formatError sees every error on its way out", async () => {
      const { url } = await startGraphQL({
        formatError: (error) => new GraphQLError(`seen: ${error.message}`),
      });
      const reply = await ask(url, {
        body: {
          query: 'mutation { addReview(userId: "123", input: { rating: 9, comment: "!" }) { id } }',
        },
      });
      expect(reply.json.errors?.[0]?.message, reply.shown).toMatch(/^seen: /);
    });

    test("formatError sees parse and validation errors too, not only those from execution", async () => {
      const { url } = await startGraphQL({
        formatError: (error) =>
          new GraphQLError(error.message, { extensions: { ...error.extensions, seen: true } }),
      });
      for (const [what, query] of [
        ["a syntax error", "{ user(id: "],
        ["a validation error", '{ user(id: "123") { nope } }'],
      ] as const) {
        const reply = await ask(url, { body: { query }, headers: { Accept: GRAPHQL_RESPONSE } });
        expect(reply.status, reply.shown).toBe(400);
        expect(
          reply.json.errors?.map(
            (error: { extensions?: { seen?: unknown } }) => error.extensions?.seen,
          ),
          `${what}: every error goes out through formatError, a request error as much as one from a resolver${reply.shown}`,
        ).toEqual([true]);
      }
    });
  });
});

/** A POST whose body has no Content-Type at all (fetch adds text/plain to a string). */
async function askWithoutType(url: string, body: string): Promise<Reply> {
  const response = await within(
    fetch(url, { method: "POST", body: new Blob([body]) }),
    "an answer to a POST without Content-Type",
  );
  rethrowStub(response.status);
  const text = await response.text();
  const shown = `\n  sent:     POST without Content-Type ${show(body)}\n  received: ${response.status} ${show(text)}`;
  return { status: response.status, headers: response.headers, text, json: {}, shown };
}
