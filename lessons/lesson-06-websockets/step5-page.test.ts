import { once } from "node:events";
import type net from "node:net";
import type { Page } from "playwright-core";
import { expect, onTestFinished, test } from "vitest";
import { createServer } from "#lesson/lesson-06-websockets/server.ts";
import { browser, describeWithBrowser } from "../../shared/testing/browser.ts";
import { within } from "../../shared/testing/patience.ts";

/** How long a page may take to (re)connect: Socket.IO's backoff on a busy machine. */
const RECONNECT_MS = 10_000;

/** The lesson's server (server.ts) on 127.0.0.1:0, with the connections it has, closed at the end. */
async function startServe() {
  const server = createServer();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  const drop = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  onTestFinished(async () => {
    drop();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const origin = `http://127.0.0.1:${port}`;
  // Before any browser: a Socket.IO not written yet is a 501 naming the stub. Fail with it now.
  const script = await within(
    fetch(`${origin}/socket.io/socket.io.js`),
    "GET /socket.io/socket.io.js",
  );
  if (script.status !== 200) {
    throw new Error(
      `GET /socket.io/socket.io.js answered ${script.status}, not 200: ${await script.text()}`,
    );
  }
  await script.arrayBuffer();
  /** The first half of a restart: every connection dropped, and the server closed. */
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    drop();
    await within(closed, "the server to close once its connections are gone");
  };
  /** The second half: listening again on the same port. */
  const start = async (): Promise<void> => {
    server.listen(port, "127.0.0.1");
    await within(once(server, "listening"), `listening again on port ${port}`);
  };
  return { origin, stop, start };
}

/** A page of the chat as `name` in `room`, in a context of its own. */
async function openChat(origin: string, name: string, room: string): Promise<Page> {
  const context = await (await browser()).newContext();
  onTestFinished(() => context.close());
  const page = await context.newPage();
  await page.goto(`${origin}/?name=${name}&room=${room}`);
  await connected(page, `${name}'s page to connect and join ${room}`);
  return page;
}

async function connected(page: Page, why: string): Promise<void> {
  await page
    .waitForSelector('#status[data-state="connected"]', { timeout: RECONNECT_MS })
    .catch(async () => {
      // $(), not textContent(): that one would wait for a #status that may never come.
      const status = (await (await page.$("#status"))?.textContent()) ?? "(no #status element)";
      throw new Error(`Expected ${why}; the page's status says: ${status}`);
    });
}

async function disconnected(page: Page, why: string): Promise<void> {
  await page
    .waitForSelector('#status[data-state="disconnected"]', { timeout: RECONNECT_MS })
    .catch(async () => {
      const status = (await (await page.$("#status"))?.textContent()) ?? "(no #status element)";
      throw new Error(`Expected ${why}; the page's status says: ${status}`);
    });
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** The page's messages, in order, as [from, text], with the count of each id. */
async function messages(page: Page) {
  return page.$$eval("#messages li", (items) =>
    items.map((li) => ({
      id: li.getAttribute("data-id"),
      text: li.lastChild?.textContent ?? "",
      pending: li.classList.contains("pending"),
    })),
  );
}

/** Waits until `page` shows each of `texts`, acknowledged; fails showing what it has. */
async function shows(page: Page, texts: string[], why: string): Promise<void> {
  await page
    .waitForFunction(
      // A string, run in the page: this file is compiled without the DOM's types.
      `(() => {
        const have = [...document.querySelectorAll("#messages li:not(.pending)")].map(
          (li) => li.lastChild?.textContent,
        );
        return ${JSON.stringify(texts)}.every((text) => have.includes(text));
      })()`,
      undefined,
      { timeout: RECONNECT_MS },
    )
    .catch(async () => {
      throw new Error(
        `Expected the page to show ${JSON.stringify(texts)} (${why}); it shows ${JSON.stringify(await messages(page))}`,
      );
    });
}

describeWithBrowser("Step 5: The same chat on Socket.IO", () => {
  test("two chat pages in Chromium exchange messages in a room, and after a server restart none is lost or shown twice", async () => {
    const { origin, stop, start } = await startServe();
    const ada = await openChat(origin, "ada", "lobby");
    const bob = await openChat(origin, "bob", "lobby");

    await say(ada, "hello from ada");
    await shows(bob, ["hello from ada"], "ada said it in the lobby, where bob is");
    await say(bob, "hello from bob");
    await shows(ada, ["hello from bob"], "bob answered");

    await stop();
    await disconnected(ada, "ada's page to see the server go");
    await disconnected(bob, "bob's page to see the server go");
    // Written while the server is down: each page keeps them until acknowledged.
    await say(ada, "ada during the restart");
    await say(bob, "bob during the restart");
    await start();
    await connected(ada, "ada's page to reconnect after the restart");
    await connected(bob, "bob's page to reconnect after the restart");

    const all = [
      "hello from ada",
      "hello from bob",
      "ada during the restart",
      "bob during the restart",
    ];
    await shows(ada, all, "every message, the ones written during the restart too");
    await shows(bob, all, "every message, the ones written during the restart too");
    await say(bob, "after the restart");
    await shows(ada, ["after the restart"], "the room works after the restart");

    for (const page of [ada, bob]) {
      const seen = await messages(page);
      const ids = seen.map((m) => m.id);
      expect(new Set(ids).size, `each message once: ${JSON.stringify(seen)}`).toBe(ids.length);
      expect(seen.map((m) => m.text).sort()).toEqual([...all, "after the restart"].sort());
    }
  }, 40_000);
});
