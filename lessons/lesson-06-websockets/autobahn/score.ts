/**
 * Autobahn|Testsuite's scores, side by side: the port's 247 cases played against the lesson's
 * echo server (yours, or the reference with --solution) and against the `ws` package's own server,
 * counted per group as OK, NON-STRICT, FAILED and INFORMATIONAL, then every case that is not OK.
 *
 *   npx tsx lessons/lesson-06-websockets/autobahn/score.ts              your echo server, and ws
 *   npx tsx lessons/lesson-06-websockets/autobahn/score.ts --solution   the reference, and ws
 *
 * Each case gets a server of its own, so one case's trouble cannot spill into the next. Timings
 * are Autobahn's own (a 1 s pause in 6.4), so the run takes a few seconds.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import type net from "node:net";
import { WebSocketServer } from "ws";
import { guard } from "../../../shared/testing/guard.ts";
import { CASES, groupOf } from "./cases.ts";
import { runCase } from "./fuzzer.ts";
import type { Outcome } from "./grade.ts";
import type { AutobahnCase, Grade } from "./table.ts";

const solution = process.argv.includes("--solution");
const unknown = process.argv.slice(2).filter((arg) => arg !== "--solution");
if (unknown.length > 0) {
  console.error(`Unknown argument: ${unknown.join(" ")}`);
  console.error("Usage: npx tsx lessons/lesson-06-websockets/autobahn/score.ts [--solution]");
  process.exit(2);
}
// `#lesson/...` points at exercises/ unless Node runs with the "solutions" condition: start this
// script again with it, in the same Node with the same loader (no shell syntax), as bench does.
const CONDITION = "--conditions=solutions";
if (solution && !process.execArgv.includes(CONDITION)) {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, CONDITION, process.argv[1] as string, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}

type Start = () => Promise<{ port: number; failed: Promise<never>; stop: () => Promise<void> }>;

async function listening(server: net.Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

/** The lesson's echo server, or the reason it cannot start. */
async function echoStart(): Promise<Start | string> {
  try {
    const { createEchoServer } = await import("#lesson/lesson-06-websockets/echo.ts");
    createEchoServer().close();
    return async () => {
      const server = createEchoServer();
      const { failed } = guard(server);
      failed.catch(() => {});
      const sockets = new Set<net.Socket>();
      server.on("connection", (s: net.Socket) =>
        sockets.add(s.once("close", () => sockets.delete(s))),
      );
      const port = await listening(server);
      const stop = async (): Promise<void> => {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => server.close(resolve));
      };
      return { port, failed, stop };
    };
  } catch (error) {
    return (error as Error).message;
  }
}

/** The ws package's server, echoing each message with the same binary flag. */
const wsStart: Start = async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.on("error", () => {}); // a refused frame: ws closes with its code, and says so here
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await once(wss, "listening");
  const { port } = wss.address() as net.AddressInfo;
  const stop = async (): Promise<void> => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  };
  return { port, failed: new Promise<never>(() => {}), stop };
};

async function play(start: Start, kase: AutobahnCase): Promise<Outcome> {
  const { port, failed, stop } = await start();
  const abort = new AbortController();
  failed.catch((error: unknown) => abort.abort(error));
  try {
    return await runCase({ host: "127.0.0.1", port }, kase, { signal: abort.signal });
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    return {
      id: kase.id,
      grade: "FAILED",
      behavior: "FAILED",
      behaviorClose: "FAILED",
      reason: `the server threw: ${message}`,
      exchange: undefined as never,
    };
  } finally {
    await stop();
  }
}

/** Every case, a few at a time, so the 6.4 pauses do not stretch under load. */
async function score(start: Start): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(CASES.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CASES.length) {
      const i = next++;
      outcomes[i] = await play(start, CASES[i] as AutobahnCase);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return outcomes;
}

const GRADES: Grade[] = ["OK", "NON-STRICT", "FAILED", "INFORMATIONAL"];
const GROUPS = [...new Set(CASES.map((c) => groupOf(c.id)))];

function counts(outcomes: Outcome[], group?: string): string {
  const of = outcomes.filter((o) => group === undefined || groupOf(o.id) === group);
  return GRADES.map((g) =>
    String(of.filter((o) => o.grade === g).length).padStart(Math.max(g.length, 3)),
  ).join("  ");
}

const started = Date.now();
const echo = await echoStart();
const mine = typeof echo === "string" ? undefined : await score(echo);
const theirs = await score(wsStart);

const whose = solution ? "reference echo" : "your echo";
const header = GRADES.map((g) => g.padStart(Math.max(g.length, 3))).join("  ");
const width = header.length;
console.log(`Autobahn|Testsuite cases, groups 1 to 7 and 10.1 (${CASES.length} cases)\n`);
console.log(`${"group".padEnd(7)}  ${whose.padEnd(width)}    ${"ws package".padEnd(width)}`);
console.log(`${"".padEnd(7)}  ${header}    ${header}`);
for (const group of [...GROUPS, undefined]) {
  const left = mine ? counts(mine, group) : "".padEnd(width);
  console.log(`${(group ?? "total").padEnd(7)}  ${left}    ${counts(theirs, group)}`);
}
if (typeof echo === "string") {
  console.log(`\n${whose}: cannot start yet: ${echo}`);
  console.log(
    "To score the reference instead: npx tsx lessons/lesson-06-websockets/autobahn/score.ts --solution",
  );
}

function listNonOk(name: string, outcomes: Outcome[] | undefined): void {
  if (!outcomes) return;
  const notOk = outcomes.filter((o) => o.grade !== "OK");
  console.log(`\n${name}: ${notOk.length === 0 ? "every case OK" : "cases not OK"}`);
  for (const o of notOk) console.log(`  ${o.id.padEnd(7)} ${o.grade.padEnd(13)} ${o.reason}`);
}
listNonOk(whose, mine);
listNonOk("ws package", theirs);
console.log(`\n${((Date.now() - started) / 1000).toFixed(1)} s`);
