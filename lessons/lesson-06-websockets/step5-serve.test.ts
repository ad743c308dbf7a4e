import { once } from "node:events";
import http from "node:http";
import { io as connectClient } from "socket.io-client";
import { describe, expect, onTestFinished, test } from "vitest";
import WebSocket from "ws";
import { createServer } from "#lesson/lesson-06-websockets/server.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";

/** server.ts, the one `npm run serve -- lesson-06` starts, on 127.0.0.1:0. */
async function serve(needs: { socketIo?: boolean } = {}): Promise<{ origin: string; ws: string }> {
  const { host, port } = await listen(createServer());
  const origin = `http://${host}:${port}`;
  if (needs.socketIo) {
    // A Socket.IO not written yet answers 501 with the stub's message: fail with it, at once.
    const script = await within(
      fetch(`${origin}/socket.io/socket.io.js`),
      "GET /socket.io/socket.io.js",
    );
    const body = await script.text();
    if (script.status === 501) throw new Error(body);
  }
  return { origin, ws: `ws://${host}:${port}` };
}

/** The HTTP answer to a WebSocket upgrade that is not 101 (the `ws` client's unexpected-response). */
async function refusedUpgrade(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  ws.on("error", () => {});
  onTestFinished(() => ws.terminate());
  const [, response] = (await within(
    Promise.race([
      once(ws, "unexpected-response"),
      once(ws, "open").then(() => {
        throw new Error(`The upgrade to ${url} succeeded (101); it should have been refused.`);
      }),
    ]),
    `an HTTP answer to the upgrade to ${url}`,
  )) as [unknown, http.IncomingMessage];
  const chunks: Buffer[] = [];
  response.on("data", (chunk: Buffer) => chunks.push(chunk));
  await within(once(response, "end"), "the end of the refusal's body");
  const body = Buffer.concat(chunks).toString("utf8");
  // 501 is the lesson's server saying a part is not written yet: its body is the stub's message.
  if (response.statusCode === 501) throw new Error(body);
  return { status: response.statusCode, body };
}

/** A WebSocket that opened (101), or a failure with the body of the HTTP answer it got instead. */
async function openWebSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.on("error", () => {});
  onTestFinished(() => ws.terminate());
  const refused = new Promise<never>((_resolve, reject) => {
    ws.once("unexpected-response", (_request: unknown, response: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        reject(
          new Error(
            `The upgrade to ${url} got ${response.statusCode}, not 101: ${Buffer.concat(chunks).toString("utf8")}`,
          ),
        ),
      );
    });
  });
  await within(
    Promise.race([once(ws, "open"), refused]),
    `the WebSocket handshake at ${url} (101)`,
  );
  return ws;
}

describe("Step 5: The same chat on Socket.IO", () => {
  describe("npm run serve: the lesson's servers on one port", () => {
    test("GET / is the chat page, which loads socket.io-client from Socket.IO's own /socket.io/socket.io.js, no CDN", async () => {
      const { origin } = await serve();
      const page = await within(fetch(`${origin}/`), "GET /");
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('<script src="/socket.io/socket.io.js"></script>');
      expect(html, "no script from another site").not.toMatch(/src="(https?:)?\/\//);
      const script = await within(fetch(`${origin}/socket.io/socket.io.js`), "the client script");
      const body = await script.text();
      expect(
        script.status,
        `the script Socket.IO serves (serveClient); got: ${body.slice(0, 200)}`,
      ).toBe(200);
      expect(body).toContain("Socket.IO");
    });

    test("Socket.IO answers on the same port, and an upgrade to any other path is refused with 404", async () => {
      const { origin, ws } = await serve({ socketIo: true });
      const socket = connectClient(origin, {
        auth: { name: "ada" },
        reconnection: false,
        forceNew: true,
      });
      onTestFinished(() => {
        socket.disconnect();
      });
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", () => resolve());
          socket.once("connect_error", (error) =>
            reject(new Error(`socket.io-client could not connect: ${error.message}`)),
          );
        }),
        "socket.io-client to connect through the lesson's server",
      );
      const joined = (await within(
        socket.timeout(1_000).emitWithAck("join", "lobby"),
        "the join's acknowledgement",
      )) as { ok: boolean };
      expect(joined.ok).toBe(true);
      const elsewhere = await refusedUpgrade(`${ws}/nowhere`);
      expect(elsewhere.status).toBe(404);
      expect(elsewhere.body).toContain("/echo");
    });

    test("only the server's own pages may open Socket.IO: an Origin of another site, or of a name that is not loopback, is 403", async () => {
      const { origin } = await serve({ socketIo: true });
      const { port } = new URL(origin);
      const polling = `${origin}/socket.io/?EIO=4&transport=polling`;
      const statusWith = async (headers: Record<string, string>): Promise<number> => {
        const answer = await within(
          new Promise<http.IncomingMessage>((resolve, reject) => {
            http.get(polling, { headers }, resolve).on("error", reject);
          }),
          `an answer to the polling GET with ${JSON.stringify(headers)}`,
        );
        answer.resume();
        return answer.statusCode ?? 0;
      };
      expect(await statusWith({}), "no Origin: not a browser page").toBe(200);
      expect(
        await statusWith({ origin: `http://127.0.0.1:${port}` }),
        "the page's own origin",
      ).toBe(200);
      expect(
        await statusWith({ host: `localhost:${port}`, origin: `http://localhost:${port}` }),
      ).toBe(200);
      expect(await statusWith({ origin: "http://evil.example" }), "another site").toBe(403);
      expect(
        await statusWith({ host: `evil.example:${port}`, origin: `http://evil.example:${port}` }),
        "DNS rebinding: a name that resolves here, with matching Host and Origin",
      ).toBe(403);
    });

    describe("with the hand-written server of Steps 1-3 (echo.ts)", () => {
      test("an upgrade to /echo is the hand-written echo: a text and a binary message come back", async () => {
        const { ws } = await serve();
        const client = await openWebSocket(`${ws}/echo`);
        client.send("hello");
        const [text, textIsBinary] = (await within(
          once(client, "message"),
          "the echo of hello",
        )) as [Buffer, boolean];
        expect([text.toString(), textIsBinary]).toEqual(["hello", false]);
        client.send(Buffer.from([0, 1, 2]));
        const [bytes, binary] = (await within(once(client, "message"), "the echo of 3 bytes")) as [
          Buffer,
          boolean,
        ];
        expect([[...bytes], binary]).toEqual([[0, 1, 2], true]);
        client.close(1000);
        const [code] = (await within(once(client, "close"), "the closing handshake")) as [number];
        expect(code).toBe(1000);
      });

      test("a page from another site may not open /echo (403): only the server's own origin may", async () => {
        const { ws } = await serve();
        const refused = await refusedUpgrade(`${ws}/echo`, { origin: "http://evil.example" });
        expect(refused.status).toBe(403);
      });
    });

    describe("with the chat on ws (chat.ts)", () => {
      test("an upgrade to /chat reaches the ws chat: without a token it is 401, before any upgrade", async () => {
        const { ws } = await serve();
        const refused = await refusedUpgrade(`${ws}/chat`);
        expect(refused.status).toBe(401);
      });

      test("with ?access_token=<name>, a ws client joins a room at /chat and hears the presence", async () => {
        const { ws } = await serve();
        const client = await openWebSocket(`${ws}/chat?access_token=ada`);
        client.send(JSON.stringify({ type: "join", room: "lobby" }));
        const [data] = (await within(once(client, "message"), "the presence of the lobby")) as [
          Buffer,
        ];
        expect(JSON.parse(data.toString())).toMatchObject({
          type: "presence",
          room: "lobby",
          members: ["ada"],
        });
      });
    });
  });
});
