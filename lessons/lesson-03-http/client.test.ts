import http from "node:http";
import net from "node:net";
import { describe, expect, test } from "vitest";
import {
  MAX_RESPONSE_BODY_BYTES,
  request,
  ResponseParser,
  type ClientResponse,
  type RequestOptions,
} from "#lesson/lesson-03-http/client.ts";
import { HttpError, RequestParser } from "#lesson/lesson-03-http/parser.ts";
import { seedProfiles } from "#lesson/lesson-03-http/routes.ts";
import { createServer } from "#lesson/lesson-03-http/server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf, rejectionOf, thrownBy } from "../../shared/testing/errors.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { byteByByte, crlf, feedAll } from "../../shared/testing/chunks.ts";
import { answered, serve } from "./helpers.ts";

/** A node:http server that answers every request with `respond`. */
function nodeServer(
  respond: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void,
) {
  return http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    respond(req, Buffer.concat(chunks), res);
  });
}

/**
 * request(), bounded: a client that never settles (it waits for bytes that are not coming, or
 * missed the server's close) fails with what it should have done, not vitest's bare timeout.
 */
function requested(options: RequestOptions): Promise<ClientResponse> {
  return within(
    request(options),
    "request() to settle: resolve once the response's framing says it is complete (or the " +
      "server closes a close-delimited body), reject once it is malformed or cut short",
  );
}

/** A TCP server that answers whatever it receives with these exact bytes, then closes. */
function rawServer(reply: Buffer): net.Server {
  return net.createServer((socket) => {
    socket.once("data", () => socket.end(reply));
  });
}

describe("Step 7: A client on a raw socket", () => {
  test("reads a response framed by Content-Length from a node:http server", async () => {
    const address = await listen(
      nodeServer((_req, _body, res) => {
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.end("Grüße");
      }),
    );
    const response = await requested({ ...address, path: "/hello" });
    expect(response.status).toBe(200);
    expect(response.reason).toBe("OK");
    expect(response.headers["content-length"]).toBe("7");
    expect(response.body.toString("utf8")).toBe("Grüße");
  });

  test("decodes a chunked response from a node:http server", async () => {
    const address = await listen(
      nodeServer((_req, _body, res) => {
        // Written in pieces with no Content-Length: node:http sends them as chunks.
        res.write("one, ");
        res.write("two, ");
        res.end("three");
      }),
    );
    const response = await requested(address);
    expect(response.headers["transfer-encoding"]).toBe("chunked");
    expect(response.body.toString()).toBe("one, two, three");
  });

  test("sends Host, method, path, and a body whose Content-Length counts bytes", async () => {
    let seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string };
    const address = await listen(
      nodeServer((req, body, res) => {
        seen = { method: req.method, url: req.url, headers: req.headers, body: body.toString() };
        res.statusCode = 201;
        res.end();
      }),
    );
    const body = JSON.stringify({ name: "Zoë" });
    const response = await requested({
      ...address,
      method: "POST",
      path: "/profile?x=1",
      headers: { "Content-Type": "application/json" },
      body,
    });
    expect(response.status).toBe(201);
    expect(seen!).toMatchObject({ method: "POST", url: "/profile?x=1", body });
    expect(seen!.headers).toMatchObject({
      host: `${address.host}:${address.port}`,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    });
  });

  test("reads no body after a response to HEAD, whatever its Content-Length says", async () => {
    const address = await listen(
      nodeServer((_req, _body, res) => {
        res.setHeader("Content-Length", "1234");
        res.end();
      }),
    );
    const response = await requested({ ...address, method: "HEAD" });
    expect(response.headers["content-length"]).toBe("1234");
    expect(response.body.length).toBe(0);
  });

  test("reads no body after a 204 response", async () => {
    const address = await listen(
      nodeServer((_req, _body, res) => {
        res.statusCode = 204;
        res.end();
      }),
    );
    const response = await requested(address);
    expect(response.status).toBe(204);
    expect(response.body.length).toBe(0);
  });

  test("reads a body with neither Content-Length nor chunked until the server closes", async () => {
    const reply = crlf(
      "HTTP/1.1 200 OK\nContent-Type: text/plain\nConnection: close\n\nuntil the end",
    );
    const address = await listen(rawServer(reply));
    const response = await requested(address);
    expect(response.body.toString(), show(reply)).toBe("until the end");
  });

  test("skips an interim 100 Continue and resolves with the final response", async () => {
    const reply = crlf("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok");
    const address = await listen(rawServer(reply));
    const response = await requested(address);
    expect(response.status, show(reply)).toBe(200);
    expect(response.body.toString()).toBe("ok");
  });

  test("rejects a response the server cut short", async () => {
    const reply = crlf("HTTP/1.1 200 OK\nContent-Length: 10\n\nonly5");
    const address = await listen(rawServer(reply));
    await expect(requested(address), show(reply)).rejects.toMatchObject({
      code: "HTTP_INCOMPLETE_MESSAGE",
    });
  });

  test("rejects a response with both Content-Length and Transfer-Encoding", async () => {
    const reply = crlf(
      "HTTP/1.1 200 OK\nContent-Length: 5\nTransfer-Encoding: chunked\n\n0\n\nhello",
    );
    const address = await listen(rawServer(reply));
    const error = await requested(address).catch((e: unknown) => e);
    expect(error, show(reply)).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ code: "HTTP_CONFLICTING_FRAMING" });
  });

  test("rejects a malformed status line", async () => {
    const reply = crlf("HTTP/1.1 OK\nContent-Length: 0\n\n");
    const address = await listen(rawServer(reply));
    await expect(requested(address), show(reply)).rejects.toMatchObject({
      code: "HTTP_BAD_STATUS_LINE",
    });
  });

  test.each([
    ["a CR LF in a value", { "X-Note": "a\r\nX-Injected: 1" }],
    ["a name that is not a token", { "X Note": "a" }],
  ])("refuses to send a header field with %s, which would inject lines", async (_, headers) => {
    const address = await listen(rawServer(crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n")));
    const error = await rejectionOf(async () => requested({ ...address, headers }));
    expect(codeOf(error), JSON.stringify(headers)).toBe("HTTP_INVALID_FIELD");
  });

  test("parses a chunked response that arrives one byte at a time", () => {
    const reply = crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n1\n!\n0\n\n");
    const [response] = feedAll(new ResponseParser("GET"), byteByByte(reply));
    expect(response?.body.toString(), show(reply)).toBe("hello!");
  });

  test.each([204, 304])("reads no body after a %d, even with a Content-Length", (status) => {
    // RFC 9112 §6.3 rule 1: the response ends with its head, "regardless of the header fields".
    const reply = crlf(
      `HTTP/1.1 ${status} X\nContent-Length: 5\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok`,
    );
    const responses = feedAll(new ResponseParser("GET"), [reply]);
    expect(
      responses.map((r) => [r.status, r.body.toString()]),
      show(reply),
    ).toEqual([
      [status, ""],
      [200, "ok"],
    ]);
  });

  test("reads a response with Transfer-Encoding: Chunked as chunked (case-insensitive)", () => {
    const reply = crlf("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n2\nok\n0\n\n");
    const [response] = feedAll(new ResponseParser("GET"), [reply]);
    expect(response?.body.toString(), show(reply)).toBe("ok");
  });

  test("refuses a response with a transfer coding it does not know before chunked", () => {
    const reply = crlf("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n0\n\n");
    const error = thrownBy(() => feedAll(new ResponseParser("GET"), [reply]));
    expect(codeOf(error), show(reply)).toBe("HTTP_UNSUPPORTED_TRANSFER_CODING");
  });

  test("reads a response whose transfer coding does not end in chunked until the close", () => {
    // RFC 9112 §6.3 rule 4, for a response: the body is everything until the server closes.
    const reply = crlf("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n2\nok\n0\n\n");
    const parser = new ResponseParser("GET");
    expect(parser.feed(reply), show(reply)).toEqual([]);
    expect(parser.end().map((r) => r.body.toString())).toEqual(["2\r\nok\r\n0\r\n\r\n"]);
  });

  test.each([
    ["two versions", "HTTP/1.0 HTTP/1.1 200 OK"],
    ["a NUL byte in the reason", "HTTP/1.1 200 O\0K"],
    ["no space after the status code", "HTTP/1.1 200"],
    ["a status code of four digits", "HTTP/1.1 2000 OK"],
  ])("refuses a status line with %s", (_, line) => {
    const reply = crlf(`${line}\nContent-Length: 0\n\n`);
    const error = thrownBy(() => feedAll(new ResponseParser("GET"), [reply]));
    expect(codeOf(error), show(reply)).toBe("HTTP_BAD_STATUS_LINE");
  });

  test("refuses a response head over 64 KiB, and reads one over the server's 8 KiB", () => {
    const head = (size: number): Buffer =>
      crlf(`HTTP/1.1 200 OK\nX-Pad: ${"a".repeat(size)}\nContent-Length: 0\n\n`);
    expect(feedAll(new ResponseParser("GET"), [head(16 * 1024)])).toHaveLength(1);
    const error = thrownBy(() => feedAll(new ResponseParser("GET"), [head(64 * 1024)]));
    expect(codeOf(error)).toBe("HTTP_HEADERS_TOO_LARGE");
  });

  test("refuses a body read until the close once it passes MAX_RESPONSE_BODY_BYTES", () => {
    const parser = new ResponseParser("GET");
    parser.feed(crlf("HTTP/1.1 200 OK\n\n"));
    parser.feed(Buffer.alloc(MAX_RESPONSE_BODY_BYTES));
    expect(codeOf(thrownBy(() => parser.feed(Buffer.from("!"))))).toBe("HTTP_BODY_TOO_LARGE");
  });

  test.each([
    ["in the middle of a status line", "HTTP/1.1 2"],
    ["in the header section", "HTTP/1.1 200 OK\r\nContent-"],
    ["in a body of known length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"],
  ])("says a message is incomplete when the connection closes %s", (_, bytes) => {
    const parser = new ResponseParser("GET");
    parser.feed(Buffer.from(bytes, "latin1"));
    expect(codeOf(thrownBy(() => parser.end())), bytes).toBe("HTTP_INCOMPLETE_MESSAGE");
  });

  test("ends nothing when the connection closes between messages", () => {
    const parser = new RequestParser();
    parser.feed(crlf("GET / HTTP/1.1\nHost: x\n\n"));
    expect(parser.end()).toEqual([]);
  });

  test("after an error, end() reports the same error", () => {
    const parser = new ResponseParser("GET");
    expect(codeOf(thrownBy(() => parser.feed(crlf("HTTP/1.1 OK\n"))))).toBe("HTTP_BAD_STATUS_LINE");
    expect(codeOf(thrownBy(() => parser.end()))).toBe("HTTP_BAD_STATUS_LINE");
  });

  test("rejects when the server closes without a response", async () => {
    const address = await listen(
      net.createServer((socket) => socket.once("data", () => socket.end())),
    );
    const error = await within(
      rejectionOf(() => requested(address)),
      "a rejection",
    );
    expect(codeOf(error)).toBe("HTTP_INCOMPLETE_MESSAGE");
  });

  test("rejects when the server closes after only an interim 100 Continue", async () => {
    const address = await listen(rawServer(crlf("HTTP/1.1 100 Continue\n\n")));
    const error = await within(
      rejectionOf(() => requested(address)),
      "a rejection",
    );
    expect(codeOf(error)).toBe("HTTP_INCOMPLETE_MESSAGE");
  });

  test("rejects a malformed response at once, without waiting for the close", async () => {
    const address = await listen(
      net.createServer((socket) => socket.once("data", () => socket.write("HTTP/1.1 OK\r\n"))),
    );
    const error = await within(
      rejectionOf(() => requested(address)),
      "a rejection as soon as the malformed status line arrives: the server has not closed",
    );
    expect(codeOf(error)).toBe("HTTP_BAD_STATUS_LINE");
  });

  test("gets a profile from this lesson's server", async () => {
    const live = await serve(createServer());
    const response = await answered(
      live,
      requested({ ...live.address, path: "/profile/123" }),
      "a response from this lesson's server",
    );
    expect(response.status).toBe(200);
    expect(response.headers["content-length"]).toBe(String(response.body.length));
    expect(JSON.parse(response.body.toString("utf8"))).toEqual(seedProfiles().get(123));
  });

  test("creates a profile on this lesson's server with a non-ASCII JSON body", async () => {
    const live = await serve(createServer());
    const created = requested({
      ...live.address,
      method: "POST",
      path: "/profile",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Søren Kierkegaard" }),
    });
    const response = await answered(live, created, "a 201 from this lesson's server");
    expect(response.status).toBe(201);
    expect(response.headers["location"]).toMatch(/^\/profile\/\d+$/);
    expect(JSON.parse(response.body.toString("utf8"))).toMatchObject({ name: "Søren Kierkegaard" });
  });
});
