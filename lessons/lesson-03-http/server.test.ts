import http from "node:http";
import { once } from "node:events";
import { describe, expect, test, vi } from "vitest";
import { MAX_BODY_BYTES, MAX_HEADER_BYTES } from "#lesson/lesson-03-http/parser.ts";
import { seedProfiles } from "#lesson/lesson-03-http/routes.ts";
import { createServer } from "#lesson/lesson-03-http/server.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { connect, Inbox, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import {
  deliver,
  exchange,
  nextConnection,
  openPair,
  RawClient,
} from "../../shared/testing/raw.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { byteByByte, crlf, splitAt } from "../../shared/testing/chunks.ts";
import { answered, readResponse, serve, withoutDate } from "./helpers.ts";

const PROFILE = seedProfiles().get(123);
const GET = crlf("GET /profile/123 HTTP/1.1\nHost: example.com\n\n");

const ANSWER_AND_FIN =
  "a response once the empty line ending the head arrives, then the server's FIN";

function url({ host, port }: Address, path: string): string {
  return `http://${host}:${port}${path}`;
}

/** node:http's response to `req` and its whole body. */
async function responseOf(req: http.ClientRequest): Promise<[http.IncomingMessage, Buffer]> {
  const [res] = (await once(req, "response")) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return [res, Buffer.concat(chunks)];
}

describe("Step 3: Serve GET requests, one per connection", () => {
  test("answers a GET with the profile as JSON, says Connection: close, and closes", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const bytes = await answered(live, exchange(address, [GET]), ANSWER_AND_FIN);
    const response = readResponse(bytes, GET);
    expect(response.statusLine, explain("status line", GET, '"HTTP/1.1 200 OK"', bytes)).toBe(
      "HTTP/1.1 200 OK",
    );
    expect(response.headers["connection"], show(bytes)).toBe("close");
    expect(response.headers["content-length"], show(bytes)).toBe(String(response.body.length));
    expect(JSON.parse(response.body.toString("utf8"))).toEqual(PROFILE);
  });

  test("gives the same response when the request arrives one byte at a time", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const whole = await answered(live, exchange(address, [GET]), ANSWER_AND_FIN);
    const pieces = await answered(
      live,
      exchange(address, byteByByte(GET)),
      "a response once the last byte of the head arrives: feed every chunk to the parser",
    );
    expect(withoutDate(pieces), explain("byte by byte", GET, show(whole), pieces)).toBe(
      withoutDate(whole),
    );
  });

  test("answers HEAD with the header fields of GET and no body", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const sent = crlf("HEAD /profile/123 HTTP/1.1\nHost: x\n\n");
    const head = await answered(live, exchange(address, [sent]), ANSWER_AND_FIN);
    const get = readResponse(await answered(live, exchange(address, [GET]), ANSWER_AND_FIN));
    const response = readResponse(head, sent);
    expect(response.body.length, explain("HEAD", sent, "no bytes after the head", head)).toBe(0);
    expect(
      response.headers["content-length"],
      explain("HEAD", sent, `Content-Length: ${get.body.length}, as for GET`, head),
    ).toBe(String(get.body.length));
  });

  test("answers a known method on a route without it with 405 and Allow", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const sent = crlf("DELETE /profile/123 HTTP/1.1\nHost: x\n\n");
    const response = readResponse(
      await answered(live, exchange(address, [sent]), ANSWER_AND_FIN),
      sent,
    );
    expect(response.status).toBe(405);
    expect(response.headers["allow"]).toBe("GET, HEAD");
  });

  test("answers only the first request: none pipelined after it (RFC 9112 §9.6)", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const close = crlf("GET /profile/123 HTTP/1.1\nHost: x\nConnection: close\n\n");
    const sent = Buffer.concat([close, GET, GET]);
    const bytes = await answered(
      live,
      exchange(address, [sent]),
      "one response, then the server's FIN",
    );
    const statusLines = bytes.toString("latin1").match(/HTTP\/1\.1 \d{3} /g) ?? [];
    expect(
      statusLines.length,
      explain(
        "After a response with Connection: close the server MUST NOT process further " +
          "requests on the connection (RFC 9112 §9.6)",
        sent,
        "exactly one response",
        bytes,
      ),
    ).toBe(1);
  });

  test("reads and ignores a request that arrives in a later chunk, after its answer", async () => {
    const live = await serve(createServer());
    const { server, address } = live;
    // allowHalfOpen: this client still writes after the server's FIN.
    const pair = await within(
      openPair(server, address, { allowHalfOpen: true }),
      "the server to accept the connection",
    );
    // The test's own listener: a server that writes after end() gets an "error" event for it.
    const errors: string[] = [];
    pair.peer.on("error", (error: NodeJS.ErrnoException) =>
      errors.push(error.code ?? error.message),
    );
    const peerClosed = new Promise((resolve) => pair.peer.once("close", resolve));
    const close = crlf("GET /profile/123 HTTP/1.1\nHost: x\nConnection: close\n\n");
    await answered(live, pair.client.send(close), "the request to be sent");
    const first = await answered(live, pair.client.closed(), ANSWER_AND_FIN);
    // The next request comes in a chunk of its own, after the response and the FIN.
    await answered(
      live,
      deliver(pair, GET),
      "the server to go on reading after its response: end() sends a FIN and keeps the " +
        "socket readable, destroy() stops reading and closes both ways",
    );
    pair.client.socket.end();
    await answered(live, peerClosed, "the server's side to close once the client has sent its FIN");
    const statusLines = pair.client.received.toString("latin1").match(/HTTP\/1\.1 \d{3} /g) ?? [];
    expect(
      errors,
      "The server answered the second request on a connection it had already ended: writing " +
        "after end() is an error. Once answered, the connection is closing: what still arrives is " +
        "read and dropped (RFC 9112 §9.6; a named state for the connection, Step 3)",
    ).toEqual([]);
    expect(
      statusLines.length,
      explain("A request after the response with close", GET, "no second response", first),
    ).toBe(1);
  });

  test("Node's fetch reads the profile", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const response = await answered(live, fetch(url(address, "/profile/123")), "fetch's response");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await answered(live, response.json(), "the JSON body")).toEqual(PROFILE);
  });

  test("Node's fetch gets headers and no body for HEAD", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const response = await answered(
      live,
      fetch(url(address, "/profile/123"), { method: "HEAD" }),
      "fetch's response to HEAD",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(
      String(Buffer.byteLength(JSON.stringify(PROFILE))),
    );
    expect(await answered(live, response.text(), "no body, then the close")).toBe("");
  });

  test("node:http's client reads a 404 for an unknown id", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const req = http.get(url(address, "/profile/999"));
    const [res, body] = await answered(
      live,
      responseOf(req),
      "node:http's client to read a response",
    );
    expect(res.statusCode).toBe(404);
    expect(res.headers["connection"]).toBe("close");
    expect(JSON.parse(body.toString())).toMatchObject({ error: expect.any(String) });
  });

  testWithTool("curl", "install curl")(
    "curl -v shows the request it sent and the response it got",
    async () => {
      const live = await serve(createServer());
      const { address } = live;
      const { stdout, stderr } = await answered(
        live,
        run("curl", ["-sS", "-v", url(address, "/profile/123")]),
        "curl to get a response",
      );
      expect(stderr).toContain("> GET /profile/123 HTTP/1.1");
      expect(stderr).toContain(`> Host: ${address.host}:${address.port}`);
      expect(stderr).toContain("< HTTP/1.1 200 OK");
      expect(stderr).toContain("< Connection: close");
      expect(JSON.parse(stdout)).toEqual(PROFILE);
    },
  );

  testWithTool("curl", "install curl")("curl -I gets the head only", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const { stdout } = await answered(
      live,
      run("curl", ["-sS", "-I", url(address, "/profile/123")]),
      "curl to get a response head",
    );
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(stdout).toContain("Content-Length: ");
    expect(stdout.endsWith("\r\n\r\n"), show(stdout)).toBe(true);
  });
});

describe("Step 5: Create a profile with POST", () => {
  test("reads a chunked POST body sent in pieces and creates the profile", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const sent = crlf(
      "POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n" +
        'b\n{"name":"Zo\n4\në"}\n0\n\n',
    );
    const bytes = await answered(
      live,
      exchange(address, splitAt(sent, 60, 70, sent.length - 3)),
      "a 201 once the last chunk (0) and the empty line after it arrive, then the FIN",
    );
    const response = readResponse(bytes, sent);
    expect(response.status, explain("a created profile", sent, "201 Created", bytes)).toBe(201);
    expect(JSON.parse(response.body.toString("utf8"))).toMatchObject({ name: "Zoë" });
  });

  test("Node's fetch creates a profile with a JSON body and reads it back", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const created = await answered(
      live,
      fetch(url(address, "/profile"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Zoë", bio: "ünïcödé" }),
      }),
      "a response once the Content-Length bytes of the body have arrived",
    );
    expect(created.status).toBe(201);
    const location = created.headers.get("location") ?? "";
    const read = await answered(live, fetch(url(address, location)), "the created profile");
    expect(await answered(live, read.json(), "its JSON body")).toMatchObject({
      name: "Zoë",
      bio: "ünïcödé",
    });
  });

  test("node:http's client uploads a chunked body, and it is decoded", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const req = http.request(url(address, "/profile"), { method: "POST" });
    // No Content-Length: node:http sends the body with Transfer-Encoding: chunked.
    req.write('{"name":"');
    req.write("Ada Lovelace");
    req.end('"}');
    const [res, body] = await answered(
      live,
      responseOf(req),
      "a response once the last chunk (0) and the empty line after it arrive",
    );
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(body.toString())).toMatchObject({ name: "Ada Lovelace" });
  });

  testWithTool("curl", "install curl")("curl uploads a chunked body from stdin", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const { stdout } = await answered(
      live,
      run(
        "curl",
        [
          "-sS",
          "-H",
          "Transfer-Encoding: chunked",
          "--data-binary",
          "@-",
          url(address, "/profile"),
        ],
        { input: '{"name":"Grace Hopper"}' },
      ),
      "curl to get a response to its chunked upload",
    );
    expect(JSON.parse(stdout)).toMatchObject({ name: "Grace Hopper" });
  });
});

describe("Step 6: Refuse bad requests, and keep serving", () => {
  test("answers a whole request even when malformed bytes follow it in the same write", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const sent = Buffer.concat([GET, crlf("GET /profile 123 HTTP/1.1\nHost: x\n\n")]);
    const bytes = await answered(
      live,
      exchange(address, [sent]),
      "a response to the whole first request, then FIN",
    );
    // Had the bad request line come in a later chunk, the server would have answered the first
    // request and dropped the rest: the answer must not depend on where the chunks end.
    const response = readResponse(bytes, sent);
    expect(response.status, explain("the first request", sent, "200", bytes)).toBe(200);
    expect(JSON.parse(response.body.toString("utf8")), show(bytes)).toEqual(PROFILE);
  });

  test("answers a whole HEAD before malformed bytes without a body", async () => {
    const live = await serve(createServer());
    const { address } = live;
    const head = crlf("HEAD /profile/123 HTTP/1.1\nHost: x\n\n");
    const sent = Buffer.concat([head, crlf("GET /profile 123 HTTP/1.1\nHost: x\n\n")]);
    const bytes = await answered(
      live,
      exchange(address, [sent]),
      "a response to the HEAD, then FIN",
    );
    const response = readResponse(bytes, sent);
    expect(response.status, show(bytes)).toBe(200);
    expect(response.body.length, explain("HEAD", sent, "no bytes after the head", bytes)).toBe(0);
    expect(Number(response.headers["content-length"]), show(bytes)).toBeGreaterThan(0);
  });

  // Each refusal by the parser names its HttpError code in the JSON body. BREW passes the parser
  // (it is a token) and is refused by the routes, so it has no code.
  const refusals: { what: string; sent: Buffer; status: number; code?: string }[] = [
    {
      what: "a malformed request line",
      sent: crlf("GET /profile/123\nHost: x\n\n"),
      status: 400,
      code: "HTTP_BAD_REQUEST_LINE",
    },
    {
      what: "a bare LF",
      sent: Buffer.from("GET /profile/123 HTTP/1.1\nHost: x\r\n\r\n"),
      status: 400,
      code: "HTTP_BARE_LF",
    },
    {
      what: "whitespace before a colon",
      sent: crlf("GET /profile/123 HTTP/1.1\nHost : x\n\n"),
      status: 400,
      code: "HTTP_BAD_HEADER",
    },
    {
      what: "no Host",
      sent: crlf("GET /profile/123 HTTP/1.1\n\n"),
      status: 400,
      code: "HTTP_BAD_HOST",
    },
    {
      what: "Content-Length with Transfer-Encoding",
      sent: crlf(
        "POST /profile HTTP/1.1\nHost: x\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n",
      ),
      status: 400,
      code: "HTTP_CONFLICTING_FRAMING",
    },
    {
      what: "two Content-Lengths",
      sent: crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 2\nContent-Length: 3\n\n{}"),
      status: 400,
      code: "HTTP_BAD_CONTENT_LENGTH",
    },
    {
      what: "an invalid Content-Length",
      sent: crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: -2\n\n{}"),
      status: 400,
      code: "HTTP_BAD_CONTENT_LENGTH",
    },
    {
      what: "Transfer-Encoding: gzip",
      sent: crlf("POST /profile HTTP/1.1\nHost: x\nTransfer-Encoding: gzip\n\n"),
      status: 400,
      code: "HTTP_BAD_TRANSFER_ENCODING",
    },
    {
      what: "a header section over the cap",
      sent: crlf(`GET / HTTP/1.1\nHost: x\nX-Pad: ${"a".repeat(MAX_HEADER_BYTES)}\n\n`),
      status: 431,
      code: "HTTP_HEADERS_TOO_LARGE",
    },
    {
      what: "a body over the cap",
      sent: crlf(`POST /profile HTTP/1.1\nHost: x\nContent-Length: ${MAX_BODY_BYTES + 1}\n\n{}`),
      status: 413,
      code: "HTTP_BODY_TOO_LARGE",
    },
    {
      what: "an unknown method",
      sent: crlf("BREW /profile/123 HTTP/1.1\nHost: x\n\n"),
      status: 501,
    },
    {
      what: "HTTP/2.0",
      sent: crlf("GET /profile/123 HTTP/2.0\nHost: x\n\n"),
      status: 505,
      code: "HTTP_VERSION_NOT_SUPPORTED",
    },
  ];
  test.each(refusals)(
    "answers $what with $status, Connection: close, and closes the connection",
    async ({ sent, status, code }) => {
      const live = await serve(createServer());
      const { address } = live;
      const bytes = await answered(
        live,
        exchange(address, [sent]),
        `a ${status} response, then the server's FIN`,
      );
      const response = readResponse(bytes, sent);
      expect(response.status, explain("a refusal", sent, `status ${status}`, bytes)).toBe(status);
      expect(
        response.headers["connection"],
        explain("a refusal", sent, "Connection: close", bytes),
      ).toBe("close");
      expect(response.headers["date"], show(bytes)).toBeDefined();
      expect(
        response.headers["content-length"],
        explain("a refusal", sent, "Content-Length: the number of body bytes", bytes),
      ).toBe(String(response.body.length));
      if (code !== undefined) {
        expect(
          JSON.parse(response.body.toString("utf8")),
          explain("a refusal", sent, `a JSON body naming the code ${code}`, bytes),
        ).toMatchObject({ code });
      }
    },
  );

  test("reads and drops the rest of a refused body, and closes without a reset", async () => {
    const live = await serve(createServer());
    const { server, address } = live;
    const head = crlf(`POST /profile HTTP/1.1\nHost: x\nContent-Length: ${4 * MAX_BODY_BYTES}\n\n`);
    const body = Buffer.alloc(4 * MAX_BODY_BYTES, "a");
    // allowHalfOpen: this client keeps sending after the server's FIN, as a real uploader would.
    const accepted = nextConnection(server);
    const socket = await connect(address, { allowHalfOpen: true });
    const peer = await within(accepted, "the server to accept the connection");
    const peerClosed = new Promise((resolve) => peer.once("close", resolve));
    const inbox = new Inbox(socket);
    const errors: string[] = [];
    socket.on("error", (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    const write = (bytes: Buffer): Promise<void> =>
      new Promise((resolve) => socket.write(bytes, () => resolve()));

    // The head and the first part of the body together: the server refuses the head at once.
    await write(Buffer.concat([head, body.subarray(0, MAX_BODY_BYTES)]));
    const bytes = await answered(live, inbox.untilEnd(), "a 413 response, then the server's FIN");
    expect(readResponse(bytes, head).status, show(bytes)).toBe(413);

    // The rest of the body arrives after the 413 and the server's FIN. A server that has closed
    // its socket (instead of only its sending side) answers it with a reset (RST), and a reset
    // can destroy a response the client has not read yet (RFC 9112 §9.6).
    for (let at = MAX_BODY_BYTES; at < body.length && errors.length === 0; at += MAX_BODY_BYTES) {
      await answered(
        live,
        write(body.subarray(at, at + MAX_BODY_BYTES)),
        "the server to go on reading the refused body after its 413 (a paused socket reads nothing)",
      );
    }
    socket.end();
    await answered(live, closed, "the connection to close once the client has sent its FIN");
    expect(
      errors,
      "After its response the server should end only its sending side (FIN) and keep reading " +
        "until the client closes; instead the client's connection was reset",
    ).toEqual([]);
    // A server that stops reading (pause()) after its answer never sees the client's FIN, and
    // holds the connection open forever.
    await answered(
      live,
      peerClosed,
      "the server's side of the connection to close after the client's FIN: keep reading (and " +
        "dropping) after the response, so that the FIN is seen",
    );
  });

  test("answers 500 when the handler throws, and goes on serving", async () => {
    const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      let calls = 0;
      const live = await serve(
        createServer((request) => {
          calls += 1;
          if (calls === 1) throw new Error(`a bug in the handler for ${request.target}`);
          return { status: 200, body: "fine" };
        }),
      );
      const { address } = live;
      const bytes = await answered(
        live,
        exchange(address, [GET]),
        "a 500 response: a handler that throws is the server's bug, and the client still " +
          "gets an answer (catch it around the handler)",
      );
      const response = readResponse(bytes, GET);
      expect(response.status, explain("a handler that throws", GET, "500", bytes)).toBe(500);
      expect(JSON.parse(response.body.toString("utf8")), show(bytes)).toMatchObject({
        error: expect.any(String),
      });
      expect(response.headers["connection"], show(bytes)).toBe("close");
      const next = await answered(
        live,
        exchange(address, [GET]),
        "the next client served as usual",
      );
      expect(readResponse(next, GET).status, show(next)).toBe(200);
    } finally {
      quiet.mockRestore();
    }
  });

  test("survives a client that resets its connection, and goes on serving", async () => {
    const live = await serve(createServer());
    const { server, address } = live;
    const pair = await within(openPair(server, address), "the server to accept the connection");
    await answered(live, deliver(pair, GET.subarray(0, 10)), "the server to read the first bytes");
    // With no "error" listener on the socket, Node throws the error, and the process dies with
    // every other client's connection.
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(
      () => pair.peer.emit("error", reset),
      "A client reset its connection: the server's socket emitted an error that nothing " +
        "handled, which crashes the whole server. Listen for the socket's error event (Step 6)",
    ).not.toThrow();
    // A real reset, then another client.
    const other = await within(openPair(server, address), "the server to accept the connection");
    // Not events.once(): it rejects when the socket emits "error", which a reset does.
    const closed = new Promise((resolve) => other.peer.once("close", resolve));
    other.client.socket.resetAndDestroy();
    await answered(live, closed, "the server's side of a reset connection to close");
    const bytes = await answered(live, exchange(address, [GET]), "a response to the next client");
    expect(readResponse(bytes, GET).status, show(bytes)).toBe(200);
  });

  test("keeps serving other clients while one is mid-request and another is refused", async () => {
    const live = await serve(createServer());
    const { address } = live;
    // A sends half a request and waits.
    const slow = await RawClient.open(address);
    await slow.send(GET.subarray(0, 20));
    // B sends garbage and is refused.
    const garbage = crlf("GET /\n\n");
    const refused = await answered(live, exchange(address, [garbage]), "a 400, then the FIN");
    expect(readResponse(refused, garbage).status, show(refused)).toBe(400);
    // C is served as usual.
    const served = await answered(live, exchange(address, [GET]), ANSWER_AND_FIN);
    expect(readResponse(served, GET).status, show(served)).toBe(200);
    // A finishes its request and is served too.
    await slow.send(GET.subarray(20));
    const bytes = await answered(
      live,
      slow.closed(),
      "a response to the first client once the rest of its request arrives",
    );
    expect(readResponse(bytes, GET).status, show(bytes)).toBe(200);
  });
});
