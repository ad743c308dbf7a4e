import http from "node:http";
import { assert, describe, expect, onTestFinished, test } from "vitest";
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";
import {
  connectionFields,
  connectionOptions,
  persists,
} from "#lesson/lesson-04-keep-alive/persistence.ts";
import { setImmediate as nextTurn } from "node:timers/promises";
import { explain } from "../../shared/testing/bytes.ts";
import { crlf } from "../../shared/testing/chunks.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { nextConnection, RawClient, serverHasRead } from "../../shared/testing/raw.ts";
import { run, testWithTool } from "../../shared/testing/tools.ts";
import { createServer } from "#lesson/lesson-04-keep-alive/server.ts";
import { guard } from "../../shared/testing/guard.ts";
import {
  destroyedWithOwnError,
  HttpClient,
  responsesIn,
  serve,
  summary,
  thrownLater,
} from "./helpers.ts";

const GET_123 = crlf("GET /profile/123 HTTP/1.1\nHost: x\n\n");
const GET_124 = crlf("GET /profile/124 HTTP/1.1\nHost: x\n\n");

function request(version: HttpRequest["version"], connection?: string): HttpRequest {
  // As lesson 03's parser keeps them: lowercase names, in an object with no prototype.
  const headers: HttpRequest["headers"] = Object.create(null);
  if (connection !== undefined) headers["connection"] = connection;
  return { method: "GET", target: "/", version, headers, body: Buffer.alloc(0) };
}

/** GET with node:http's client; resolves with the status once the body has been read. */
function get(address: Address, path: string, options: http.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address.host, port: address.port, path, ...options }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
}

describe("Step 1: Keep the connection open", () => {
  describe("persists(): RFC 9112 §9.3", () => {
    test.each([
      { version: "HTTP/1.1", connection: undefined, expected: true },
      { version: "HTTP/1.1", connection: "close", expected: false },
      { version: "HTTP/1.1", connection: "Close", expected: false },
      { version: "HTTP/1.1", connection: "keep-alive, close", expected: false },
      { version: "HTTP/1.0", connection: undefined, expected: false },
      { version: "HTTP/1.0", connection: "keep-alive", expected: true },
      { version: "HTTP/1.0", connection: "Upgrade, Keep-Alive", expected: true },
      { version: "HTTP/1.0", connection: "keep-alive, close", expected: false },
    ] as const)(
      "is $expected for $version with Connection: $connection",
      ({ version, connection, expected }) => {
        const fields =
          connection === undefined ? "no Connection field" : `Connection: ${connection}`;
        const rule =
          version === "HTTP/1.1"
            ? 'HTTP/1.1 persists unless a Connection option is "close"'
            : 'HTTP/1.0 persists only with a "keep-alive" option, and no "close"';
        expect(
          persists(request(version, connection)),
          `persists() of a ${version} message with ${fields} (RFC 9112 §9.3: ${rule}; options ` +
            "are case-insensitive tokens in a comma-separated list)",
        ).toBe(expected);
      },
    );
  });

  test("connectionOptions() reads a comma-separated list, lowercased, without empty items", () => {
    expect([...connectionOptions(" Keep-Alive ,, Upgrade,")]).toEqual(["keep-alive", "upgrade"]);
    expect(connectionOptions(undefined).size).toBe(0);
  });

  test("connectionFields() announces the idle timeout in whole seconds, rounded down", () => {
    expect(connectionFields({ open: true, idleTimeoutMs: 5_000, remaining: 99 })).toEqual({
      Connection: "keep-alive",
      "Keep-Alive": "timeout=5, max=99",
    });
    expect(connectionFields({ open: true, idleTimeoutMs: 2_999, remaining: 1 })).toEqual({
      Connection: "keep-alive",
      "Keep-Alive": "timeout=2, max=1",
    });
    expect(connectionFields({ open: false, idleTimeoutMs: 5_000, remaining: 0 })).toEqual({
      Connection: "close",
    });
  });

  test("answers a second request on the same connection, each response saying keep-alive", async () => {
    const client = await (await serve()).open();
    await client.send(GET_123);
    const [first] = await client.responses(1, "the response to the first GET");
    await client.send(GET_124);
    const [, second] = await client.responses(2, "the response to a second GET on the connection");
    assert.isDefined(second);
    for (const [response, max] of [
      [first, 99],
      [second, 98],
    ] as const) {
      expect(
        response.headers,
        explain(
          "A persistent response",
          client.sent,
          `Connection: keep-alive, Keep-Alive: timeout=5, max=${max}`,
          summary(response),
        ),
      ).toMatchObject({ connection: "keep-alive", "keep-alive": `timeout=5, max=${max}` });
    }
    expect(JSON.parse(second.body.toString("utf8"))).toMatchObject({ id: 124 });
  });

  test("after serving a request, answers Connection: close with Connection: close, then closes", async () => {
    const client = await (await serve()).open();
    await client.send(GET_123);
    const [first] = await client.responses(1);
    expect(first.headers["connection"], summary(first)).toBe("keep-alive");
    await client.send(crlf("GET /profile/124 HTTP/1.1\nHost: x\nConnection: close\n\n"));
    const bytes = await client.closed();
    const [, last, extra] = await client.responses(2);
    assert.isDefined(last);
    expect(
      last.headers["connection"],
      explain("RFC 9112 §9.6", client.sent, "Connection: close, then FIN", bytes),
    ).toBe("close");
    expect(extra).toBeUndefined();
  });

  test("keeps an HTTP/1.0 connection open only when the client sends Connection: keep-alive", async () => {
    const served = await serve();
    const keep = await served.open();
    const ask = crlf("GET /profile/123 HTTP/1.0\nConnection: keep-alive\n\n");
    await keep.send(ask);
    const [kept] = await keep.responses(1);
    expect(
      kept.headers["connection"],
      explain("HTTP/1.0 keep-alive", ask, "Connection: keep-alive", summary(kept)),
    ).toBe("keep-alive");
    await keep.send(ask);
    await keep.responses(2, "a second response on the HTTP/1.0 keep-alive connection");

    const plain = await served.open();
    await plain.send(crlf("GET /profile/123 HTTP/1.0\n\n"));
    const [closing] = responsesIn(
      await plain.closed("the server's FIN after its response to HTTP/1.0 without keep-alive"),
    );
    expect(closing?.headers["connection"], summary(closing)).toBe("close");
  });

  test("skips the body of a request whose route ignores it, and reads the next request from its first byte", async () => {
    const client = await (await serve()).open();
    // DELETE is refused (405) without a look at the body, which looks like a request of its own.
    const body = "GET /profile/999 HTTP/1.1\r\nHost: x\r\n\r\n";
    await client.send(
      crlf(`DELETE /profile/123 HTTP/1.1\nHost: x\nContent-Length: ${body.length}\n\n`),
      body,
      GET_124,
    );
    const responses = await client.responses(2);
    expect(
      responses.map((r) => r.status),
      explain(
        "a body, then a request",
        client.sent,
        "405, then 200 (not 404)",
        responses.map(summary).join(" | "),
      ),
    ).toEqual([405, 200]);
  });

  test("keeps serving other clients after one resets its connection", async () => {
    // Not serve(): its own "error" listener on each connection would hide a missing one. What
    // the server's code throws still fails the test at once, with its own message.
    const server = createServer();
    const thrown = Promise.race([guard(server).failed, thrownLater()]);
    const address = await listen(server);
    const accepted = nextConnection(server);
    const rude = await RawClient.open(address);
    const peer = await within(Promise.race([accepted, thrown]), "the server to accept");
    expect(
      peer.listenerCount("error"),
      'listeners for "error" on the server\'s side of a connection. Without one, a client that ' +
        "resets its connection (ECONNRESET) raises an error nobody handles, and Node ends the " +
        "whole process: every other client with it",
    ).toBeGreaterThan(0);
    // Now that the server's own listener is counted: a connection it destroys with an error of
    // its own (a bug, a function not written yet) fails the test with that error.
    const destroyed = destroyedWithOwnError(server, [peer]);
    const closed = new Promise((resolve) => peer.once("close", resolve));
    const half = "GET /profile/123 HTTP/1.1\r\nHost: x\r\n";
    const read = serverHasRead(peer, half.length);
    await rude.send(half);
    const failed = Promise.race([thrown, destroyed]);
    failed.catch(() => {});
    await within(Promise.race([read, failed]), "the server to read the first line of the request");
    rude.socket.resetAndDestroy();
    await within(
      Promise.race([closed, failed]),
      "the server's side of the reset connection to close",
    );
    const other = new HttpClient(await RawClient.open(address), failed);
    await other.send(GET_123);
    await other.responses(1, "a response to another client after the reset");
    await other.send(GET_124);
    await other.responses(2, "a second response on that client's persistent connection");
  });

  test("serves ten requests from node:http's keep-alive Agent on one connection, and ten with Connection: close on ten", async () => {
    const { server, address, wait } = await serve();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    for (let i = 0; i < 10; i++) {
      const status = get(address, "/profile/123", { agent });
      expect(await wait(status, `node:http's response to keep-alive request ${i + 1}`)).toBe(200);
    }
    expect(server.stats().connectionsOpened, "ten requests through a keep-alive Agent").toBe(1);
    for (let i = 0; i < 10; i++) {
      const options = { agent: false, headers: { Connection: "close" } } as const;
      const status = get(address, "/profile/123", options);
      expect(await wait(status, `node:http's response to Connection: close request ${i + 1}`)).toBe(
        200,
      );
    }
    expect(server.stats()).toMatchObject({ connectionsOpened: 11, requests: 20 });
  });

  test("lets Node's fetch reuse one connection for sequential requests", async () => {
    const { server, address, wait } = await serve();
    const { host, port } = address;
    for (const id of [123, 124, 123]) {
      const body = fetch(`http://${host}:${port}/profile/${id}`).then((r) => r.json());
      expect(await wait(body, `fetch's response for /profile/${id}`)).toMatchObject({ id });
      // fetch (undici) hands the connection back to its pool one event-loop turn after the
      // response ends: its HTTP/1.1 client defers that with setImmediate, so that a server which
      // closes the connection after promising to keep it has a turn to show it. Until then the
      // connection counts as busy, and a request made at once would get a second one. fetch
      // offers no event for that moment; a setImmediate queued now runs just after undici's.
      await nextTurn();
    }
    expect(server.stats().connectionsOpened, "connections fetch opened for three requests").toBe(1);
  });

  testWithTool("curl", "install curl")(
    "makes curl -v say it re-uses the connection for a second URL",
    async () => {
      const { server, address, wait } = await serve();
      const { host, port } = address;
      const curl = run("curl", [
        "-sv",
        `http://${host}:${port}/profile/123`,
        `http://${host}:${port}/profile/124`,
      ]);
      // Starting a process takes longer than a request: a longer bound than the others.
      const { stderr } = await wait(curl, "curl to finish its two requests", 4_000);
      // curl 7 prints "Re-using existing connection #0", curl 8 "Reusing existing http:
      // connection".
      expect(stderr, "curl -v's own lines (*) should report the reuse").toMatch(
        /re-?using existing .*connection/i,
      );
      expect(server.stats().connectionsOpened).toBe(1);
    },
  );
});
