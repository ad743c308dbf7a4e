import { describe, expect, test } from "vitest";
import { json } from "#reference/lesson-03-http/response.ts";
import { MAX_BODY_BYTES, MAX_HEADER_BYTES } from "#reference/lesson-03-http/parser.ts";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Handler } from "#lesson/lesson-04-keep-alive/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { byteByByte, crlf, splitAt } from "../../shared/testing/chunks.ts";
import { deferred, nextConnection, serverHasRead } from "../../shared/testing/raw.ts";
import { responsesIn, serve, summary } from "./helpers.ts";

const GET_123 = crlf("GET /profile/123 HTTP/1.1\nHost: x\n\n");
const GET_124 = crlf("GET /profile/124 HTTP/1.1\nHost: x\n\n");
const GET_999 = crlf("GET /profile/999 HTTP/1.1\nHost: x\n\n");

/** The JSON bodies of responses, to compare orders. */
function bodies(responses: { body: Buffer }[]): unknown[] {
  return responses.map((r) => JSON.parse(r.body.toString("utf8")));
}

describe("Step 2: Answer pipelined requests in order", () => {
  test("answers three requests sent in one write with three responses, in order", async () => {
    const client = await (await serve()).open();
    await client.send(Buffer.concat([GET_123, GET_124, GET_999]));
    const responses = await client.responses(3);
    expect(
      responses.map((r) => r.status),
      explain(
        "three pipelined GETs",
        client.sent,
        "200 (123), 200 (124), 404 (999)",
        responses.map(summary).join(" | "),
      ),
    ).toEqual([200, 200, 404]);
    expect(bodies(responses.slice(0, 2))).toMatchObject([{ id: 123 }, { id: 124 }]);
  });

  // A POST with a body, then a GET for the profile it creates, cut into chunks in several places.
  const body = Buffer.from('{"name":"Zoë"}', "utf8");
  const post = Buffer.concat([
    crlf(`POST /profile HTTP/1.1\nHost: x\nContent-Length: ${body.length}\n\n`),
    body,
  ]);
  const pipeline = Buffer.concat([post, crlf("GET /profile/125 HTTP/1.1\nHost: x\n\n")]);
  const headEnd = post.indexOf("\r\n\r\n");
  const umlaut = post.indexOf(Buffer.from("ë")) + 1;
  test.each([
    { where: "inside the first request line", chunks: splitAt(pipeline, 7) },
    {
      where: "between the CR and the LF that end the first head",
      chunks: splitAt(pipeline, headEnd + 3),
    },
    { where: "inside the body, between the two bytes of ë", chunks: splitAt(pipeline, umlaut) },
    {
      where: "in the body, then with the body's end and the next request's start in one chunk",
      chunks: splitAt(pipeline, post.length - 4, post.length + 10),
    },
    { where: "between every byte", chunks: byteByByte(pipeline) },
  ])("reads a POST and the GET after it when the chunks break $where", async ({ chunks }) => {
    const client = await (await serve()).open();
    await client.send(...chunks);
    const responses = await client.responses(2);
    expect(
      responses.map((r) => r.status),
      explain(
        "POST then GET",
        pipeline,
        "201, then 200 with the new profile",
        responses.map(summary).join(" | "),
      ),
    ).toEqual([201, 200]);
    expect(bodies(responses)).toEqual([
      { id: 125, name: "Zoë" },
      { id: 125, name: "Zoë" },
    ]);
  });

  test("answers HEAD with no body, so the next pipelined response starts right after its head", async () => {
    const client = await (await serve()).open();
    await client.send(crlf("HEAD /profile/123 HTTP/1.1\nHost: x\n\n"), GET_124);
    const bytes = await client.until(
      (b) => b.includes("Ada Lovelace"),
      "the response to the GET after the HEAD",
    );
    const headEnd = bytes.indexOf("\r\n\r\n") + 4;
    expect(
      bytes.subarray(headEnd, headEnd + 17).toString("latin1"),
      explain(
        "HEAD, then GET",
        client.sent,
        "the HEAD's head, then at once HTTP/1.1 200 OK",
        bytes,
      ),
    ).toBe("HTTP/1.1 200 OK\r\n");
  });

  test("ignores an empty line between pipelined requests (RFC 9112 §2.2)", async () => {
    const client = await (await serve()).open();
    await client.send(Buffer.concat([GET_123, Buffer.from("\r\n"), GET_124]));
    const responses = await client.responses(2);
    expect(bodies(responses), show(client.sent)).toMatchObject([{ id: 123 }, { id: 124 }]);
  });

  test("reads chunk extensions and trailers, then the next pipelined request", async () => {
    const client = await (await serve()).open();
    const chunked = crlf(
      "POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n" +
        'c;note="first"\n{"name":"Ed"\n1\n}\n0\nX-Checksum: none\n\n',
    );
    await client.send(chunked, GET_124);
    const responses = await client.responses(2);
    expect(
      responses.map((r) => r.status),
      explain(
        "chunked POST with extensions and a trailer, then GET",
        client.sent,
        "201, 200",
        responses.map(summary).join(" | "),
      ),
    ).toEqual([201, 200]);
  });

  test("sends responses in request order even when a later one is ready first (head-of-line blocking)", async () => {
    const release = deferred();
    const called: string[] = [];
    const handler: Handler = async (request) => {
      called.push(request.target);
      if (request.target === "/slow") await release.promise;
      return json(200, { path: request.target });
    };
    const served = await serve({ handler });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const pipeline = crlf("GET /slow HTTP/1.1\nHost: x\n\nGET /fast HTTP/1.1\nHost: x\n\n");
    const read = serverHasRead(await accepted, pipeline.length);
    await client.send(pipeline);
    // The server has read both requests, in one chunk or in several; /slow is still held.
    await served.wait(read, "the server to read both pipelined requests");
    expect(
      called,
      "GET is safe: RFC 9112 §9.3.2 lets a server handle pipelined GETs side by side",
    ).toEqual(["/slow", "/fast"]);
    // Two turns of the event loop: the fast handler's promise has settled, and a response written
    // meanwhile would have been read. (The order check below catches that case in any event.)
    await nextTurn();
    await nextTurn();
    expect(
      client.received.length,
      explain(
        "a slow GET, then a fast one",
        client.sent,
        "nothing before the slow response: responses go out in request order (RFC 9112 §9.3.2)",
        client.received,
      ),
    ).toBe(0);
    release.resolve();
    const responses = await client.responses(2);
    expect(bodies(responses), "responses in the order of the requests").toEqual([
      { path: "/slow" },
      { path: "/fast" },
    ]);
  });

  test("finishes a pipelined POST before it starts the request after it", async () => {
    const release = deferred();
    const events: string[] = [];
    const handler: Handler = async (request) => {
      events.push(`${request.method} start`);
      if (request.method === "POST") await release.promise;
      events.push(`${request.method} end`);
      return json(200, {});
    };
    const served = await serve({ handler });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const pipeline = crlf(
      "POST /a HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}GET /b HTTP/1.1\nHost: x\n\n",
    );
    const read = serverHasRead(await accepted, pipeline.length);
    await client.send(pipeline);
    // The server has read the GET too, however the bytes were chunked; the POST is still held.
    await served.wait(read, "the server to read the POST and the GET after it");
    await nextTurn();
    expect(events, "a GET after a POST may depend on what the POST changes").toEqual([
      "POST start",
    ]);
    release.resolve();
    await client.responses(2);
    expect(events).toEqual(["POST start", "POST end", "GET start", "GET end"]);
  });

  test("starts a pipelined POST only once the GET before it has been answered", async () => {
    const release = deferred();
    const events: string[] = [];
    const handler: Handler = async (request) => {
      events.push(`${request.method} start`);
      if (request.method === "GET") await release.promise;
      events.push(`${request.method} end`);
      return json(200, {});
    };
    const served = await serve({ handler });
    const accepted = nextConnection(served.server);
    const client = await served.open();
    const pipeline = crlf(
      "GET /a HTTP/1.1\nHost: x\n\nPOST /b HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
    );
    const read = serverHasRead(await accepted, pipeline.length);
    await client.send(pipeline);
    await served.wait(read, "the server to read the GET and the POST after it");
    await nextTurn();
    expect(events, "a POST may change what the GET before it reads: it waits its turn").toEqual([
      "GET start",
    ]);
    release.resolve();
    await client.responses(2);
    expect(events).toEqual(["GET start", "GET end", "POST start", "POST end"]);
  });

  test("answers 500 for a handler that throws, and goes on serving the connection", async () => {
    const handler: Handler = (request) => {
      if (request.target === "/boom") throw new Error("a bug in the handler");
      return json(200, { path: request.target });
    };
    const client = await (await serve({ handler })).open();
    const error = console.error;
    console.error = () => {}; // the server logs the handler's error; the test expects it
    try {
      await client.send(crlf("GET /boom HTTP/1.1\nHost: x\n\nGET /next HTTP/1.1\nHost: x\n\n"));
      const responses = await client.responses(2);
      expect(
        responses.map((r) => [r.status, r.headers["connection"]]),
        explain(
          "a handler that throws, then another request",
          client.sent,
          "500 Internal Server Error, connection kept; then 200",
          responses.map(summary).join(" | "),
        ),
      ).toEqual([
        [500, "keep-alive"],
        [200, "keep-alive"],
      ]);
    } finally {
      console.error = error;
    }
  });

  test("answers every request a client sent before its FIN (a half-close), then closes", async () => {
    const release = deferred();
    const handler: Handler = async (request) => {
      if (request.target === "/slow") await release.promise;
      return json(200, { path: request.target });
    };
    const served = await serve({ handler });
    const accepted = nextConnection(served.server);
    // allowHalfOpen: the client's FIN ends its sending only; it still reads.
    const client = await served.open({ allowHalfOpen: true });
    const peer = await accepted;
    const ended = new Promise((resolve) => peer.once("end", resolve));
    await client.send(crlf("GET /slow HTTP/1.1\nHost: x\n\nGET /fast HTTP/1.1\nHost: x\n\n"));
    client.socket.end();
    await served.wait(ended, "the server to read the client's FIN");
    release.resolve();
    const bytes = await client.closed(
      "both responses, then the server's FIN: a client that closes its sending side after its " +
        "requests still expects every answer",
    );
    expect(
      bodies(responsesIn(bytes)),
      explain("two GETs, then the client's FIN", client.sent, "/slow, then /fast, then FIN", bytes),
    ).toEqual([{ path: "/slow" }, { path: "/fast" }]);
  });

  test("reads nothing after a pipelined request that says Connection: close (RFC 9112 §9.6)", async () => {
    const client = await (await serve()).open();
    const close = crlf("GET /profile/124 HTTP/1.1\nHost: x\nConnection: close\n\n");
    await client.send(Buffer.concat([GET_123, close, GET_999]));
    const bytes = await client.closed("two responses, then the server's FIN");
    expect(
      responsesIn(bytes).map((r) => [r.status, r.headers["connection"]]),
      explain(
        'a request, one with "close", then another, in one write',
        client.sent,
        'two responses, the second with Connection: close, and none for the third: "The ' +
          'server MUST NOT process any further requests received on that connection"',
        bytes,
      ),
    ).toEqual([
      [200, "keep-alive"],
      [200, "close"],
    ]);
  });

  // Each malformed request follows a good one in the same write: the good one is answered first.
  test.each([
    {
      what: "an invalid chunk size (2 xyz)",
      bad: crlf("POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n2 xyz\n{}\n0\n\n"),
      status: 400,
    },
    { what: "whitespace before a colon", bad: crlf("GET / HTTP/1.1\nHost : x\n\n"), status: 400 },
    { what: "a bare LF", bad: Buffer.from("GET / HTTP/1.1\nHost: x\n\n"), status: 400 },
    { what: "a bare CR", bad: Buffer.from("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n"), status: 400 },
    {
      what: "chunked not last",
      bad: crlf("POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: chunked, gzip\n\n"),
      status: 400,
    },
    {
      what: "two different Content-Lengths",
      bad: crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 2\nContent-Length: 3\n\n{}"),
      status: 400,
    },
    {
      what: "an empty Content-Length",
      bad: crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: \n\n{}"),
      status: 400,
    },
    {
      what: "a body over the cap",
      bad: crlf(`POST /profile HTTP/1.1\nHost: x\nContent-Length: ${MAX_BODY_BYTES + 1}\n\n`),
      status: 413,
    },
    {
      what: "a head over the cap",
      bad: crlf(`GET / HTTP/1.1\nHost: x\nX-Pad: ${"a".repeat(MAX_HEADER_BYTES)}\n\n`),
      status: 431,
    },
    {
      what: "a transfer coding the server does not know",
      bad: crlf("POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: gzip, chunked\n\n"),
      status: 501,
    },
  ])(
    "answers the request before $what, then $status with Connection: close, and closes",
    async ({ bad, status }) => {
      const client = await (await serve()).open();
      await client.send(Buffer.concat([GET_123, bad]));
      const bytes = await client.closed(
        `the server to close the connection after its ${status} (RFC 9112 §9.6: it sent "close")`,
      );
      const responses = responsesIn(bytes);
      const seen = responses.map(summary).join(" | ");
      expect(
        responses.map((r) => r.status),
        explain("a good request, then a bad one", client.sent, `200, then ${status}`, seen),
      ).toEqual([200, status]);
      expect(responses[1]?.headers["connection"], seen).toBe("close");
    },
  );
});
