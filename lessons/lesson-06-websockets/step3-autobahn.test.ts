/**
 * Step 3, checked by Autobahn|Testsuite's cases: the port in autobahn/ plays each case against
 * the lesson's echo server over a raw TCP connection, and grades it as Autobahn does. A case
 * passes when its grade is OK, NON-STRICT or INFORMATIONAL; FAILED shows what the case expected
 * and the bytes on the wire, both ways.
 */
import { once } from "node:events";
import type net from "node:net";
import { describe, expect, test } from "vitest";
import { createEchoServer } from "#lesson/lesson-06-websockets/echo.ts";
import { show } from "../../shared/testing/bytes.ts";
import { guard } from "../../shared/testing/guard.ts";
import { PATIENCE_MS } from "../../shared/testing/patience.ts";
import { CASES } from "./autobahn/cases.ts";
import { describeEvents, type Outcome } from "./autobahn/grade.ts";
import { runCase, type Timing } from "./autobahn/fuzzer.ts";
import type { AutobahnCase } from "./autobahn/table.ts";

/**
 * Autobahn's timings, shortened: every wait of a passing case ends on an event (the echo, the
 * server's Close, its FIN), except the 6.4 pauses, which are what those cases measure. A case's
 * own deadline (Autobahn's 1 to 10 s for the server to answer or fail) is the course's patience.
 */
const TIMING: Partial<Timing> = {
  maxDeadlineMs: PATIENCE_MS,
  pauseMs: 200,
  closeHandshakeMs: 1_000,
  serverDropMs: 1_000,
  openHandshakeMs: PATIENCE_MS,
};

/** Plays one case against a fresh echo server, closed with its connections however it ends. */
async function play(kase: AutobahnCase): Promise<Outcome> {
  const server = createEchoServer();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // What a listener of the server throws (an unwritten stub, a bug) ends the case at once, with
  // the error as it was thrown, instead of a timeout.
  const guarded = guard(server);
  const stop = new AbortController();
  guarded.failed.catch((error: unknown) => stop.abort(error));
  try {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as net.AddressInfo;
    const outcome = await runCase({ host: "127.0.0.1", port, path: "/" }, kase, {
      timing: TIMING,
      signal: stop.signal,
    });
    if (guarded.error !== undefined) throw guarded.error;
    return outcome;
  } finally {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A FAILED case in protocol terms: what Autobahn expected, what came, and the bytes. */
function report(kase: AutobahnCase, outcome: Outcome): string {
  const ex = outcome.exchange;
  return [
    `Autobahn case ${kase.id} is ${outcome.grade} (behaviour ${outcome.behavior}, closing ${outcome.behaviorClose}).`,
    `  case:     ${kase.description}`,
    `  expected: ${kase.expectation}`,
    `  why:      ${outcome.reason}`,
    `  received: ${describeEvents(ex.received)}; close code ${ex.remoteCloseCode ?? "none"}`,
    `  sent:     ${show(ex.sent, 600)}`,
    `  got back: ${show(ex.receivedBytes, 600)}`,
  ].join("\n");
}

describe("Step 3: Messages, control frames and the closing handshake", () => {
  describe.concurrent("Autobahn|Testsuite cases (groups 1 to 7 and 10.1)", () => {
    for (const kase of CASES) {
      test(`${kase.id} ${kase.description}`, async () => {
        const outcome = await play(kase);
        expect(outcome.grade, report(kase, outcome)).not.toBe("FAILED");
        // Only 7.7.9 gives a server a reason to send 1011 (an internal error, RFC 6455 §7.4.1):
        // anywhere else it means the server's own code threw, a stub not written yet, say.
        if (!kase.close.codes.includes(1011)) {
          const threw = `${report(kase, outcome)}\n  The server closed with 1011: its own code threw (its log says what).`;
          expect(outcome.exchange.remoteCloseCode, threw).not.toBe(1011);
        }
      });
    }
  });
});
