/**
 * The screen "user 123 with the last five orders and their reviews" over this lesson's REST API
 * (the README's "Measure it"): what one load of it costs in requests, connections, bytes on the
 * wire and store queries, loaded four ways.
 *
 *   npm run bench -- lesson-08              (your app, exercises/)
 *   npm run bench -- lesson-08 --solution   (the reference, solutions/)
 *
 * The screen is in screen.ts; the counting at the server's sockets in shared/bench/wire.ts.
 * Lesson 09's bench puts the same screen over GraphQL beside these rows. Figures depend on the
 * machine only for the times; nothing here is asserted.
 */
import os from "node:os";
import { createApp } from "#lesson/lesson-08-rest/app.ts";
import { createStore } from "#lesson/lesson-08-rest/store.ts";
import { printTable } from "../../shared/bench/wire.ts";
import { measureRestScreen, SCREEN_PATHS, type ScreenOptions } from "./screen.ts";

const LOADS = Number(process.env.BENCH_LOADS ?? 101);
const app = (store: ReturnType<typeof createStore>) => createApp({ store });

const rows: Omit<ScreenOptions, "createApp" | "createStore">[] = [
  { name: "one after another, keep-alive", keepAlive: true, parallel: false, revalidate: false },
  { name: "in parallel, keep-alive", keepAlive: true, parallel: true, revalidate: false },
  {
    name: "one after another, a connection each",
    keepAlive: false,
    parallel: false,
    revalidate: false,
  },
  { name: "again, with If-None-Match (304s)", keepAlive: true, parallel: false, revalidate: true },
];

console.log(
  `lesson-08 bench: the screen "user 123 with the last five orders and their reviews" over REST,\n` +
    `${SCREEN_PATHS.map((p) => `GET ${p}`).join(", ")}; each row loads it ${LOADS} times, from a ` +
    "new client each time, against a server and store of its own on 127.0.0.1",
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)\n`,
);

const results = [];
for (const row of rows) {
  results.push(await measureRestScreen({ ...row, createApp: app, createStore, loads: LOADS }));
}
const number = (n: number): string => Math.round(n).toLocaleString("en");
printTable(
  [
    "one load of the screen",
    "requests",
    "connections",
    "bytes sent",
    "bytes received",
    "on the wire",
    "of it JSON",
    "store queries",
    "median ms",
  ],
  results.map((r) => [
    r.name,
    number(r.requests),
    number(r.connections),
    number(r.bytesIn),
    number(r.bytesOut),
    number(r.bytesIn + r.bytesOut),
    number(r.bodyBytes),
    number(r.queries),
    r.medianMs.toFixed(2),
  ]),
);
console.log(
  "\nbytes are counted at the server's sockets, per load: sent = the client's requests (heads only: GETs " +
    "have no body),\nreceived = the server's responses, heads and bodies; TCP/IP headers are not counted. " +
    '"of it JSON" is the bodies alone.\nstore queries: each GET looks the user up first (a 404 for a user ' +
    "who is not there), then reads its orders or reviews.",
);
