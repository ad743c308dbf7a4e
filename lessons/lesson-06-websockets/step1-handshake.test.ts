import { once } from "node:events";
import type http from "node:http";
import { describe, expect, onTestFinished, test } from "vitest";
import WebSocket from "ws";
import { createEchoServer, type EchoOptions } from "#lesson/lesson-06-websockets/echo.ts";
import {
  acceptValue,
  refusalResponse,
  WEBSOCKET_GUID,
} from "#lesson/lesson-06-websockets/handshake.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { byteByByte } from "../../shared/testing/chunks.ts";
import { guard } from "../../shared/testing/guard.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { nextConnection, RawClient } from "../../shared/testing/raw.ts";
import {
  answered,
  expectedAccept,
  headEnd,
  responseHead,
  RFC_ACCEPT,
  RFC_KEY,
  serve,
  upgradeRequest,
  type Served,
} from "./helpers.ts";

const URL_PATH = "/echo";

function url({ host, port }: Address, path = URL_PATH): string {
  return `ws://${host}:${port}${path}`;
}

/** Sends one request and reads the response head, without closing. */
async function handshake(
  served: Served,
  request: Buffer | Buffer[],
  expected = "a response to the handshake once its empty line arrives",
) {
  const client = await RawClient.open(served.address);
  await client.send(...[request].flat());
  const bytes = await answered(
    served,
    client.until((b) => headEnd(b) !== -1, "a response head"),
    `${expected}: ${show(Buffer.concat([request].flat()), 200)}`,
  );
  return { client, bytes, ...responseHead(bytes) };
}

/** Sends a request the server must refuse, and reads everything until the server closes. */
async function refused(served: Served, request: Buffer, expected?: string) {
  const { client, bytes: head, status } = await handshake(served, request, expected);
  expect(
    status,
    explain("This handshake must be refused", request, "a 4xx status, then the close", head),
  ).toBeGreaterThanOrEqual(400);
  const bytes = await answered(
    served,
    client.closed(),
    "the server's FIN after its 4xx: a refused handshake closes the connection",
  );
  return { bytes, ...responseHead(bytes) };
}

/** The ws package's client, open or failed: it checks the 101 the way a browser does. */
async function wsOpen(
  served: Served,
  protocols: string[] = [],
  options: WebSocket.ClientOptions = {},
): Promise<{ ws: WebSocket; response: http.IncomingMessage }> {
  const ws = new WebSocket(url(served.address), protocols, options);
  let response: http.IncomingMessage | undefined;
  ws.once("upgrade", (res: http.IncomingMessage) => (response = res));
  try {
    await answered(
      served,
      Promise.race([
        once(ws, "open"),
        once(ws, "error").then(([error]) => {
          throw new Error(
            `The ws client refused the handshake: ${(error as Error).message}. It checks ` +
              "the 101, Upgrade: websocket, Connection: Upgrade and Sec-WebSocket-Accept.",
          );
        }),
      ]),
      "the ws client's 'open' event, after a valid 101",
    );
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return { ws, response: response as http.IncomingMessage };
}

function live(options?: EchoOptions): Promise<Served> {
  return serve(createEchoServer(options));
}

describe("Step 1: The opening handshake", () => {
  test("answers the RFC's own example key with the RFC's own accept value (§1.3)", () => {
    expect(
      acceptValue(RFC_KEY),
      "base64(SHA-1(key + GUID)), with the key as the client sent it (base64 text, not decoded)",
    ).toBe(RFC_ACCEPT);
    expect(WEBSOCKET_GUID).toBe("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  });

  test("computes the accept value of any key: SHA-1 of key + GUID, in base64", () => {
    const key = "x3JJHMbDL1EzLkh9GBhXDw==";
    expect(acceptValue(key)).toBe(expectedAccept(key));
  });

  test("answers a valid upgrade with 101, Upgrade, Connection and Sec-WebSocket-Accept", async () => {
    const served = await live();
    const request = upgradeRequest();
    const { bytes, status, headers } = await handshake(served, request);
    const say = (field: string) =>
      explain(field, request, "HTTP/1.1 101 Switching Protocols (RFC 6455 §4.2.2)", bytes);
    expect(status, say("status")).toBe(101);
    expect(headers.get("upgrade")?.toLowerCase(), say("Upgrade: websocket")).toBe("websocket");
    expect(headers.get("connection")?.toLowerCase(), say("Connection: Upgrade")).toBe("upgrade");
    expect(headers.get("sec-websocket-accept"), say(`Sec-WebSocket-Accept: ${RFC_ACCEPT}`)).toBe(
      RFC_ACCEPT,
    );
  });

  test("keeps the connection open after the 101: the same TCP connection carries the frames", async () => {
    const server = createEchoServer();
    const served = await serve(server);
    const accepted = nextConnection(server);
    const { client, status } = await handshake(served, upgradeRequest());
    const socket = await within(accepted, "the server to accept the connection");
    expect(status).toBe(101);
    // By the time the 101 has arrived, the server's write of it is done, and so is an end() or a
    // destroy() that came with it: the server's side of the socket says so, with no wait for the
    // FIN to travel.
    expect(
      { ended: socket.writableEnded, destroyed: socket.destroyed },
      "The server closed its side after the 101 (socket.end() or destroy()). A WebSocket is the " +
        "same TCP connection the handshake came on: write the 101 and keep it open for frames.",
    ).toEqual({ ended: false, destroyed: false });
    expect(client.socket.readableEnded, "the server's FIN came after its 101").toBe(false);
  });

  test("answers a handshake that arrives one byte at a time", async () => {
    const served = await live();
    const request = upgradeRequest();
    const { status, headers } = await handshake(served, byteByByte(request));
    expect(status, "a TCP chunk is not a request: wait for the empty line").toBe(101);
    expect(headers.get("sec-websocket-accept")).toBe(RFC_ACCEPT);
  });

  test("is opened by the ws client, which checks the accept value", async () => {
    const served = await live();
    const { ws } = await wsOpen(served);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.terminate();
  });

  test("negotiates no extension, though the ws client offers permessage-deflate", async () => {
    const served = await live();
    const { ws, response } = await wsOpen(served, [], { perMessageDeflate: true });
    ws.terminate();
    expect(
      response.headers["sec-websocket-extensions"],
      "The server speaks no extension: it must leave Sec-WebSocket-Extensions out of its 101 " +
        "(RFC 6455 §9.1), or the client will expect compressed frames with RSV1 set.",
    ).toBeUndefined();
    expect(ws.extensions).toBe("");
  });

  test.each([
    ["Connection: upgrade (lowercase)", { Connection: "upgrade" }],
    ["Connection: UPGRADE", { Connection: "UPGRADE" }],
    ["Connection: keep-alive, Upgrade (a list)", { Connection: "keep-alive, Upgrade" }],
    ["Connection: Upgrade,keep-alive", { Connection: "Upgrade,keep-alive" }],
    ["Upgrade: WebSocket (any case)", { Upgrade: "WebSocket" }],
  ])("accepts %s: the tokens are case-insensitive (§4.2.1)", async (_name, fields) => {
    const served = await live();
    const request = upgradeRequest(fields);
    const { status, bytes } = await handshake(served, request);
    expect(
      status,
      explain(
        "Connection is a list of tokens, compared case-insensitively; so is Upgrade",
        request,
        "101",
        bytes,
      ),
    ).toBe(101);
  });

  test("frames a refusal's body with Content-Length in bytes, not characters (RFC 9112 §6.2)", () => {
    const error = { status: 400, code: "WS_BAD_KEY", message: "clé «non» ✓ 😀" };
    const bytes = refusalResponse(error);
    const end = headEnd(bytes);
    const { status, headers } = responseHead(bytes);
    const say = (what: string) =>
      explain(
        what,
        JSON.stringify(error),
        "Content-Length equal to the body's length in UTF-8 bytes (Buffer.byteLength)",
        bytes,
      );
    expect(status, say("the status line")).toBe(400);
    expect(end, say("a head that ends in an empty line")).toBeGreaterThan(0);
    expect(headers.get("content-length"), say("Content-Length")).toBe(String(bytes.length - end));
    expect(bytes.subarray(end).toString("utf8"), say("the body")).toContain(error.message);
  });

  test("answers a bug in its own code with 500, logs it, and goes on serving", async () => {
    // A bug injected through the options: reading the subprotocols throws, as a bug would.
    const bug = new Error("a bug in the server's own code");
    const options = {
      get protocols(): string[] {
        throw bug;
      },
    };
    const server = createEchoServer(options);
    const failed = guard(server).failed.catch((error: unknown) => {
      throw new Error(
        `The server's socket listener threw ${String(error)}. Nothing catches an error thrown ` +
          "there: it crashes the whole server. Catch what is not a HandshakeError, log it with " +
          "console.error and answer 500 with Connection: close.",
        { cause: error },
      );
    });
    failed.catch(() => {});
    const address = await listen(server);
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    onTestFinished(() => {
      console.error = original;
    });
    const request = upgradeRequest();
    const client = await RawClient.open(address);
    await client.send(request);
    const bytes = await within(Promise.race([client.closed(), failed]), () =>
      explain(
        "A bug in the server's own code, not in the request",
        request,
        "500 Internal Server Error, then the FIN",
        client.received,
      ),
    );
    const { status } = responseHead(bytes);
    expect(
      status,
      explain(
        "An error that is not a HandshakeError is the server's bug: 500, then the close",
        request,
        "HTTP/1.1 500",
        bytes,
      ),
    ).toBe(500);
    expect(
      logged.some((args) => args.includes(bug)),
      "the server's own error, logged with console.error so that its owner can find it",
    ).toBe(true);
    const other = await RawClient.open(address);
    await other.send(upgradeRequest());
    const next = await within(
      Promise.race([other.until((b) => headEnd(b) !== -1, "a response head"), failed]),
      "a response for the next client: the server goes on serving",
    );
    expect(responseHead(next).status, show(next)).toBe(500);
  });

  test("refuses another version with 426 and Sec-WebSocket-Version: 13, then closes", async () => {
    const served = await live();
    const request = upgradeRequest({ "Sec-WebSocket-Version": "8" });
    const { bytes, status, headers } = await refused(served, request);
    expect(status, explain("RFC 6455 §4.4", request, "426 Upgrade Required", bytes)).toBe(426);
    expect(
      headers.get("sec-websocket-version"),
      explain(
        "§4.4: name the versions the server speaks",
        request,
        "Sec-WebSocket-Version: 13",
        bytes,
      ),
    ).toBe("13");
    expect(headers.get("connection")?.toLowerCase()).toBe("close");
  });

  test.each([
    ["no Upgrade field", { Upgrade: null }],
    ["Upgrade: h2c", { Upgrade: "h2c" }],
    ["no Connection field", { Connection: null }],
    ["Connection: keep-alive, without the Upgrade token", { Connection: "keep-alive" }],
    ["Connection: Upgraded (not the token)", { Connection: "Upgraded" }],
    ["no Sec-WebSocket-Key", { "Sec-WebSocket-Key": null }],
    ["a key of 15 bytes", { "Sec-WebSocket-Key": Buffer.alloc(15, 1).toString("base64") }],
    ["a key that is not base64", { "Sec-WebSocket-Key": "not a base64 key, really!" }],
    ["a key of 22 bytes", { "Sec-WebSocket-Key": Buffer.alloc(22, 1).toString("base64") }],
    ["a 16-byte key with more after it", { "Sec-WebSocket-Key": `${RFC_KEY}AAAA` }],
  ])("refuses a handshake with %s with 400, then closes", async (_name, fields) => {
    const served = await live();
    const request = upgradeRequest(fields);
    const { bytes, status, headers } = await refused(served, request);
    expect(
      status,
      explain("A handshake that breaks §4.2.1 is refused", request, "400 Bad Request", bytes),
    ).toBe(400);
    expect(headers.get("connection")?.toLowerCase(), show(bytes)).toBe("close");
  });

  test("refuses an upgrade request over HTTP/1.0 with 400 (§4.1: HTTP/1.1 or higher)", async () => {
    const served = await live();
    const request = upgradeRequest({}, "GET /echo HTTP/1.0");
    const { bytes, status } = await refused(served, request);
    expect(status, explain("HTTP/1.0", request, "400", bytes)).toBe(400);
  });

  test("refuses an upgrade request with a body with 400, then closes (a handshake GET has none)", async () => {
    const served = await live();
    const request = Buffer.concat([
      upgradeRequest({ "Content-Length": "5" }),
      Buffer.from("hello", "latin1"),
    ]);
    const { bytes, status, headers } = await refused(
      served,
      request,
      "a 400 once the head is read: a handshake announcing a body (Content-Length: 5) is " +
        "refused, not waited for (lesson 03's parser returns no request until the body is in)",
    );
    expect(
      status,
      explain(
        "RFC 9110 §9.3.1: content in a GET has no defined meaning, and a server may refuse it; " +
          "after a head with Content-Length, lesson 03's parser returns no request until the body",
        request,
        "400 Bad Request",
        bytes,
      ),
    ).toBe(400);
    expect(headers.get("connection")?.toLowerCase(), show(bytes)).toBe("close");
  });

  test("refuses a request that is not HTTP with 400", async () => {
    const served = await live();
    const request = Buffer.from("HELLO THERE\r\n\r\n", "latin1");
    const { bytes, status } = await refused(served, request);
    expect(status, explain("not HTTP", request, "400", bytes)).toBe(400);
  });

  test("refuses a POST with 405 and Allow: GET, then closes (§4.1: the method MUST be GET)", async () => {
    const served = await live();
    const request = upgradeRequest({}, "POST /echo HTTP/1.1");
    const { bytes, status, headers } = await refused(served, request);
    expect(status, explain("POST", request, "405 Method Not Allowed", bytes)).toBe(405);
    expect(headers.get("allow")).toBe("GET");
    expect(headers.get("connection")?.toLowerCase()).toBe("close");
  });

  test("refuses an Origin outside the allow-list with 403, then closes (§10.2)", async () => {
    const served = await live({ origins: ["http://good.example"] });
    const request = upgradeRequest({ Origin: "http://evil.example" });
    const { bytes, status, headers } = await refused(served, request);
    expect(
      status,
      explain(
        "A page on another site must not open a socket in the user's name",
        request,
        "403 Forbidden",
        bytes,
      ),
    ).toBe(403);
    expect(headers.get("connection")?.toLowerCase()).toBe("close");
  });

  test("accepts an Origin in the allow-list, and a request with no Origin (not a browser)", async () => {
    const served = await live({ origins: ["http://good.example"] });
    const allowed = upgradeRequest({ Origin: "http://good.example" });
    expect((await handshake(served, allowed)).status, show(allowed)).toBe(101);
    const none = upgradeRequest();
    expect((await handshake(served, none)).status, "no Origin: not a browser, allowed").toBe(101);
  });

  test("chooses the subprotocol it prefers among those the client offers", async () => {
    const served = await live({ protocols: ["chat", "superchat"] });
    const request = upgradeRequest({ "Sec-WebSocket-Protocol": "superchat, chat" });
    const { bytes, headers } = await handshake(served, request);
    expect(
      headers.get("sec-websocket-protocol"),
      explain(
        "§4.2.2: one of the offered subprotocols",
        request,
        "Sec-WebSocket-Protocol: chat",
        bytes,
      ),
    ).toBe("chat");
  });

  test("the ws client gets the chosen subprotocol, and none when it offers none the server speaks", async () => {
    const served = await live({ protocols: ["v2.echo", "v1.echo"] });
    const first = await wsOpen(served, ["v1.echo", "v2.echo"]);
    first.ws.terminate();
    expect(first.ws.protocol).toBe("v2.echo");
    const request = upgradeRequest({ "Sec-WebSocket-Protocol": "mqtt" });
    const { headers, bytes } = await handshake(served, request);
    expect(
      headers.has("sec-websocket-protocol"),
      explain(
        "No offered subprotocol is spoken: leave the field out",
        request,
        "no Sec-WebSocket-Protocol",
        bytes,
      ),
    ).toBe(false);
  });
});
