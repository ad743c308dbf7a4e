import http from "node:http";
import type { Page } from "playwright-core";
import { beforeAll, expect, onTestFinished, test } from "vitest";
import { browser, describeWithBrowser } from "../../shared/testing/browser.ts";
import { listen } from "../../shared/testing/net.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { post, rethrowStub, start, streamsBecome, type Started } from "./server-helpers.ts";

/** Every request the server receives from now on, by URL, and a way to wait for one. */
function requests(server: http.Server) {
  const seen: { url: string; lastEventId: string | undefined; req: http.IncomingMessage }[] = [];
  const waiters = new Set<() => void>();
  server.on("request", (req: http.IncomingMessage) => {
    const header = req.headers["last-event-id"];
    seen.push({ url: req.url ?? "", lastEventId: Array.isArray(header) ? header[0] : header, req });
    for (const waiter of [...waiters]) waiter();
  });
  const matching = (url: string) => seen.filter((r) => r.url === url);
  return {
    matching,
    /** Resolves with the n-th request for `url` once it has come. */
    async nth(url: string, n: number, why: string) {
      let check = (): void => {};
      try {
        return await within(
          new Promise<(typeof seen)[number]>((resolve) => {
            check = () => {
              const found = matching(url)[n - 1];
              if (found !== undefined) resolve(found);
            };
            waiters.add(check);
            check();
          }),
          () =>
            `${matching(url).length} request(s) for ${url} came, where request ${n} should have: ${why}`,
        );
      } finally {
        waiters.delete(check);
      }
    },
  };
}

/** A fresh browser page (its own context), closed when the test ends. */
async function newPage(): Promise<Page> {
  const context = await (await browser()).newContext();
  onTestFinished(() => context.close());
  return context.newPage();
}

/** The ids of the messages the ticker shows, in order. */
function shown(page: Page): Promise<string[]> {
  return page.$$eval("#messages li", (items) => items.map((li) => li.dataset.id ?? li.className));
}

/** Waits until the ticker shows `count` messages, bounded. */
async function showsAtLeast(page: Page, count: number, why: string): Promise<void> {
  try {
    await page.waitForFunction(
      `document.querySelectorAll("#messages li").length >= ${count}`,
      undefined,
      {
        timeout: PATIENCE_MS,
      },
    );
  } catch {
    throw new Error(
      `The ticker shows [${(await shown(page)).join(", ")}] after ${PATIENCE_MS} ms, where ` +
        `${count} messages should be: ${why}`,
    );
  }
}

/** Opens the ticker page (GET /) and waits for its EventSource to be open. */
async function openTicker(page: Page, { origin }: Started): Promise<void> {
  const answer = await page.goto(`${origin}/`);
  rethrowStub(answer?.status());
  expect(
    answer?.status(),
    "GET / serves the ticker page, lessons/lesson-07-sse/page/index.html: express.static() over PAGE, before lesson 05's app",
  ).toBe(200);
  expect(answer?.headers()["content-type"]).toMatch(/^text\/html/);
  try {
    await page.waitForFunction(`document.body.dataset.state === "open"`, undefined, {
      timeout: PATIENCE_MS,
    });
  } catch {
    rethrowStub();
    const state = await page.evaluate<string>("document.body.dataset.state");
    throw new Error(
      `The page's EventSource is "${state}" after ${PATIENCE_MS} ms, not open: does GET /events ` +
        "answer 200 with Content-Type: text/event-stream, and send its head at once?",
    );
  }
}

/**
 * A page's steps (a context, a navigation, an evaluate) each take a round trip to Chromium, slow on
 * a loaded machine. Every wait inside is bounded with its own message; this only keeps vitest's
 * timeout from cutting them short.
 */
const BROWSER_TEST_MS = 15_000;

describeWithBrowser("Step 4: In the browser", () => {
  // Launched while the tests are collected, so that no test's time goes to starting Chromium.
  const launching = browser();
  launching.catch(() => {}); // a missing browser fails the first test that needs it
  // The first page of a browser is the slowest to open: open one before the tests, and close it.
  beforeAll(async () => {
    const context = await (await launching).newContext();
    await context.newPage();
    await context.close();
  }, 30_000);

  test(
    "the ticker reconnects after the server drops it, and shows every message once, with no gap",
    async () => {
      const server = await start({ retryMs: 50 });
      const page = await newPage();
      const seen = requests(server.server);
      await openTicker(page, server);
      const first = await seen.nth("/events", 1, "the page's EventSource connects");
      await post(server.origin);
      await post(server.origin);
      await showsAtLeast(page, 2, "messages 1 and 2, pushed as they are posted");

      first.req.socket.destroy(); // the connection drops
      server.feed.append({ author: "ada", text: "3, while the page was away" });
      server.feed.append({ author: "ada", text: "4, while the page was away" });
      const again = await seen.nth(
        "/events",
        2,
        "Chromium reconnects retry ms (50) after the stream was cut",
      );
      expect(
        again.lastEventId,
        "the browser sends the id of the last event it got as Last-Event-ID",
      ).toBe("2");
      await post(server.origin);
      await showsAtLeast(page, 5, "3 and 4 replayed from the feed, then 5 live");
      expect(await shown(page), "every message once, in order, none lost in the drop").toEqual([
        "1",
        "2",
        "3",
        "4",
        "5",
      ]);
    },
    BROWSER_TEST_MS,
  );

  test(
    "six streams fill an origin's HTTP/1.1 connections: a seventh request waits until one closes",
    async () => {
      const server = await start();
      const seen = requests(server.server);
      // Another origin (another port), to prove that the page's requests do go out meanwhile.
      const elsewhere = http.createServer((_req, res) => res.end("ok"));
      const control = requests(elsewhere);
      const { port } = await listen(elsewhere);
      const page = await newPage();
      // A page of the same origin that opens no stream of its own.
      rethrowStub((await page.goto(`${server.origin}/messages?after=0`))?.status());
      // The page's code runs in Chromium, written here as the text it evaluates.
      await page.evaluate(
        `window.sources = Array.from({ length: 6 }, () => new EventSource("/events"))`,
      );
      await streamsBecome(server.server, 6, "six EventSources are open");

      await page.evaluate(`
      window.seventh = fetch("/messages?after=7").then((r) => r.status);
      // Sent after the seventh: once it has arrived, the seventh would have too, if it could.
      fetch("http://127.0.0.1:${port}/", { mode: "no-cors" });
    `);
      await control.nth("/", 1, "the request to the other origin: it has connections of its own");
      expect(
        seen.matching("/messages?after=7").length,
        "Chromium opens at most six HTTP/1.1 connections per origin, and six streams hold them all: " +
          "the seventh request cannot have been sent yet",
      ).toBe(0);

      await page.evaluate("window.sources[0].close()");
      await seen.nth("/messages?after=7", 1, "the seventh request, once one stream has closed");
      expect(
        await page.evaluate<number>("window.seventh"),
        "it was answered (410: the feed never handed out id 7)",
      ).toBe(410);
    },
    BROWSER_TEST_MS,
  );
});
