/**
 * A real browser for the lessons whose clients live in a page (WebSocket, EventSource). Tests
 * drive it with playwright-core, which downloads nothing: it uses a Chromium-family browser the
 * machine already has.
 *
 *   1. the path in COURSE_BROWSER, if set;
 *   2. on Linux, the distribution's Chromium or Chrome (`/usr/bin/chromium`, ...);
 *   3. on macOS, Google Chrome in /Applications; on Windows, Chrome if installed, else Edge,
 *      which every Windows has.
 *
 * Without one, browser tests are skipped on a learner's machine, with a name that says what to
 * install; under CI they always run, and fail if there is no browser.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type LaunchOptions } from "playwright-core";
import { afterAll, describe } from "vitest";
import { isCI } from "./tools.ts";

const LINUX_BROWSERS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
];
const MAC_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";

/** How to launch the browser this machine has, or undefined if it has none the course knows. */
export function findBrowser(): LaunchOptions | undefined {
  const fromEnv = process.env.COURSE_BROWSER;
  if (fromEnv) return { executablePath: fromEnv };
  if (process.platform === "linux") {
    const found = LINUX_BROWSERS.find((file) => existsSync(file));
    return found ? { executablePath: found } : undefined;
  }
  if (process.platform === "darwin")
    return existsSync(MAC_CHROME) ? { channel: "chrome" } : undefined;
  if (process.platform === "win32") {
    const programs = [
      process.env.PROGRAMFILES,
      process.env["PROGRAMFILES(X86)"],
      process.env.LOCALAPPDATA,
    ];
    const chrome = programs.some(
      (dir) => dir && existsSync(path.join(dir, "Google", "Chrome", "Application", "chrome.exe")),
    );
    return { channel: chrome ? "chrome" : "msedge" };
  }
  return undefined;
}

const INSTALL =
  process.platform === "linux"
    ? "install Chromium (Debian/Ubuntu: sudo apt-get install chromium) or set COURSE_BROWSER to a Chrome path"
    : "install Google Chrome, or set COURSE_BROWSER to the path of a Chromium-family browser";

/**
 * `describe` for tests that need a browser: runs where one is found (and always under CI),
 * otherwise skipped with a name that says what to install.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  if (findBrowser() || isCI) describe(name, body);
  else describe.skip(`${name} (skipped: no Chromium-family browser found; ${INSTALL})`, body);
}

let launched: Promise<Browser> | undefined;

/**
 * The browser, launched headless once per test file and closed after the file's last test. Each
 * test opens its own context (`browser.newContext()`) and closes it, so pages never share state.
 */
export function browser(): Promise<Browser> {
  if (!launched) {
    const options = findBrowser();
    if (!options) {
      return Promise.reject(
        new Error(`No Chromium-family browser found to run this test: ${INSTALL}.`),
      );
    }
    launched = chromium.launch({ ...options, headless: true, timeout: 30_000 });
    afterAll(async () => {
      const opened = launched;
      launched = undefined;
      await (await opened)?.close();
    });
  }
  return launched;
}
