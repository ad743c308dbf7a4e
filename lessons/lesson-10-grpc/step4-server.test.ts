/**
 * What the interop cases leave to the server and do not check themselves: the interval between
 * streamed responses ("Observe ResponseParameters.interval_us"), a sleep that a cancelled call or
 * a passed deadline ends, HalfDuplexCall, and the payloads the server refuses to make.
 */
import { createHook } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers/promises";
import { describe, expect, onTestFinished, test } from "vitest";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import {
  bidi,
  clientStream,
  grpc,
  serverStream,
  showStatus,
  startInterop,
  unary,
  type Outcome,
} from "./interop.ts";

interface WithPayload {
  payload: { body: Buffer } | null;
}

/** What node:timers keeps on a Timeout, set by setTimeout and by clearTimeout. */
interface NodeTimeout {
  _idleTimeout: number;
  _destroyed: boolean;
}

/** The sleep the tests ask for: interval_us 600000000, ten minutes. */
const SLEEP_US = 600_000_000;

/** Responses asked for in one go: more than a stream's buffer holds (16 messages) at once. */
const MANY = 64;
const manyResponses = Array.from({ length: MANY }, () => ({ size: 1024, intervalUs: 0 }));

const BACKPRESSURE =
  "write() returned false (the call's buffer is full: the client has not read what is in it " +
  'yet), and the handler went on writing before "drain". Each write waits for "drain" ' +
  "once write() has said false: a client that reads slowly must not make the server buffer " +
  "everything it asked for";

const NOTHING_AFTER_CANCEL =
  "the handler wrote to its call after it was cancelled: a cancel ends the sleep, and sends " +
  "nothing, not even the response it was sleeping before";

/**
 * Every timer made in this process from now until the test ends, seen by an async hook: the
 * server runs in this process, so its handlers' timers are among them. `sleeping()` gives those of
 * the sleep the tests ask for (no timer of grpc-js's own has that length) still pending.
 */
function watchTimers(): { sleeping: () => NodeTimeout[] } {
  const made: NodeTimeout[] = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === "Timeout") made.push(resource as NodeTimeout);
    },
  }).enable();
  onTestFinished(() => {
    hook.disable();
  });
  const ms = SLEEP_US / 1000;
  return {
    sleeping: () =>
      made.filter((timer) => !timer._destroyed && Math.abs(timer._idleTimeout - ms) < 1_000),
  };
}

/**
 * Resolves once `condition()` holds, checking on each turn of the event loop, or fails with
 * `expected()` after PATIENCE_MS; `race` (the call's outcome) ends the wait early when it fails.
 */
async function waitFor(
  condition: () => boolean,
  expected: () => string,
  race?: Promise<unknown>,
): Promise<void> {
  let failed: unknown;
  let settled = false;
  race?.then(
    () => {},
    (error: unknown) => {
      failed = error;
      settled = true;
    },
  );
  await within(
    (async () => {
      while (!condition()) {
        if (settled) throw failed;
        await setImmediate();
      }
    })(),
    expected,
  );
}

describe("Step 4: The interop cases", () => {
  test("StreamingOutputCall waits interval_us before each response, and the intervals add up", async () => {
    const { client } = await startInterop();
    const started = performance.now();
    const arrivals: number[] = [];
    const { call, done } = serverStream<WithPayload>(client.streamingOutputCall, client, {
      responseParameters: [
        { size: 1, intervalUs: 40_000 },
        { size: 2, intervalUs: 40_000 },
        { size: 3, intervalUs: 40_000 },
      ],
    });
    call.on("data", () => arrivals.push(performance.now() - started));
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    // Each response is sent interval_us after the one before, so the i-th cannot come before
    // i times 40 ms (a lower bound only: a busy machine may make them later, never earlier).
    const early = arrivals
      .map((at, i) => ({ at: Math.round(at), notBefore: (i + 1) * 40 }))
      .filter(({ at, notBefore }) => at < notBefore - 1);
    expect(
      early,
      `Responses came at ${arrivals.map((at) => `${Math.round(at)} ms`).join(", ")} after the ` +
        `call began; with interval_us 40000 each, the 1st cannot come before 40 ms, the 2nd ` +
        `before 80 ms, the 3rd before 120 ms. interval_us is a sleep before each response, ` +
        `counted from the response before ("Observe ResponseParameters.interval_us").`,
    ).toEqual([]);
  });

  test("FullDuplexCall observes interval_us too", async () => {
    const { client } = await startInterop();
    const started = performance.now();
    const arrivals: number[] = [];
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client, {}, () =>
      arrivals.push(performance.now() - started),
    );
    call.write({ responseParameters: [{ size: 1, intervalUs: 60_000 }] });
    call.end();
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    const first = arrivals[0];
    expect(
      first,
      "No response came, and the call ended with OK: the half-close ends the call only once " +
        "every response asked for is sent (keep a queue of the responses still to send).",
    ).toBeDefined();
    expect(
      Math.round(first ?? 0),
      `The response came ${Math.round(first ?? 0)} ms after the call began: interval_us ` +
        `60000 makes the server sleep 60 ms before sending it, and the half-close waits for it.`,
    ).toBeGreaterThanOrEqual(59);
  });

  test("StreamingOutputCall writes no faster than the client reads: after a write() that returns false, it waits for 'drain'", async () => {
    const { client, calls } = await startInterop();
    const { done } = serverStream<WithPayload>(client.streamingOutputCall, client, {
      responseParameters: manyResponses,
    });
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    expect(outcome.messages, `${MANY} responses, one per response_parameters entry`).toHaveLength(
      MANY,
    );
    const [seen] = calls.filter((c) => c.method === "StreamingOutputCall");
    expect(seen?.writesWhileFull, BACKPRESSURE).toBe(0);
  });

  test("FullDuplexCall writes no faster than the client reads either", async () => {
    const { client, calls } = await startInterop();
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client);
    call.write({ responseParameters: manyResponses });
    call.end();
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    expect(outcome.messages, `${MANY} responses to one request of ${MANY} entries`).toHaveLength(
      MANY,
    );
    const [seen] = calls.filter((c) => c.method === "FullDuplexCall");
    expect(seen?.writesWhileFull, BACKPRESSURE).toBe(0);
  });

  test("a StreamingInputCall the client cancels gets no answer", async () => {
    const { client, reached } = await startInterop();
    const { call, done } = clientStream(client.streamingInputCall, client);
    call.write({ payload: { body: Buffer.alloc(8) } });
    const [seen] = await within(reached("StreamingInputCall"), "the call at the server");
    call.cancel();
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.CANCELLED);
    await within(seen!.cancelled, "grpc-js to tell the handler the call is cancelled");
    await setImmediate();
    await setImmediate();
    expect(
      seen!.replies,
      "the handler answered a call its client had cancelled. A cancel ends the request stream " +
        'too: grpc-js emits "end" first, with call.cancelled still false, and "cancelled" a ' +
        'few ticks later. Answer a turn after "end" (setImmediate), if no cancel came',
    ).toBe(0);
  });

  test("a cancelled StreamingOutputCall stops sleeping: the server keeps no timer for it", async () => {
    const { client, calls } = await startInterop();
    const timers = watchTimers();
    const { call, done } = serverStream<WithPayload>(client.streamingOutputCall, client, {
      responseParameters: [{ size: 1, intervalUs: SLEEP_US }],
    });
    await waitFor(
      () => timers.sleeping().length > 0,
      () =>
        `Nothing after ${PATIENCE_MS} ms. Expected the server to sleep 600 s (interval_us ` +
        `${SLEEP_US}) before its first response, with a timer (setTimeout)`,
      done.then((outcome) => {
        throw new Error(
          `The call ended with ${showStatus(outcome.status)} while the server should still be ` +
            `sleeping: interval_us ${SLEEP_US} is ten minutes before the first response.`,
        );
      }),
    );
    call.cancel();
    const outcome: Outcome<WithPayload> = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.CANCELLED);
    await waitFor(
      () => timers.sleeping().length === 0,
      () =>
        `The client cancelled the call (RST_STREAM with CANCEL), and after ${PATIENCE_MS} ms the ` +
        `server's 600 s timer for it is still set: a sleeping handler must stop when its call ` +
        `is cancelled (grpc-js emits "cancelled" on the call): clear the timer, send nothing more.`,
    );
    const [seen] = calls.filter((c) => c.method === "StreamingOutputCall");
    expect(seen?.writesAfterEnd, NOTHING_AFTER_CANCEL).toBe(0);
  });

  test("a FullDuplexCall past its deadline stops sleeping too", async () => {
    const { client, calls } = await startInterop();
    const timers = watchTimers();
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client, { timeoutMs: 300 });
    call.write({ responseParameters: [{ size: 1, intervalUs: SLEEP_US }] });
    await waitFor(
      () => timers.sleeping().length > 0,
      () =>
        `Nothing after ${PATIENCE_MS} ms. Expected the server to sleep 600 s (interval_us ` +
        `${SLEEP_US}) before its first response, with a timer (setTimeout)`,
      done.then((outcome) => {
        throw new Error(
          `The call ended with ${showStatus(outcome.status)} while the server should still be ` +
            `sleeping: interval_us ${SLEEP_US} is ten minutes before the first response.`,
        );
      }),
    );
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(
      () => timers.sleeping().length === 0,
      () =>
        `The call's 300 ms deadline passed (grpc-timeout on its HEADERS: grpc-js cancels the ` +
        `server's side of the call too), and after ${PATIENCE_MS} ms the server's 600 s timer ` +
        `for it is still set: a sleeping handler must stop on "cancelled".`,
    );
    const [seen] = calls.filter((c) => c.method === "FullDuplexCall");
    expect(seen?.writesAfterEnd, NOTHING_AFTER_CANCEL).toBe(0);
  });

  test("HalfDuplexCall answers every request, in order, once the client half-closes", async () => {
    const { client } = await startInterop();
    const { call, done } = bidi<WithPayload>(client.halfDuplexCall, client);
    call.write({ responseParameters: [{ size: 3 }, { size: 1 }] });
    call.write({ responseParameters: [{ size: 4 }] });
    call.end();
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    expect(
      outcome.messages.map((message) => message.payload?.body.length),
      "the sizes of the responses, in order: the first request asked for 3 and 1 bytes, the " +
        "second for 4. HalfDuplexCall keeps every request until the half-close, then sends the " +
        "responses of each, in the order the requests came",
    ).toEqual([3, 1, 4]);
  });

  test("HalfDuplexCall sends nothing before the client half-closes", async () => {
    const { client, reached } = await startInterop();
    const { call, done } = bidi<WithPayload>(client.halfDuplexCall, client);
    const [seen] = await within(reached("HalfDuplexCall"), "the HalfDuplexCall at the server");
    // The request reaching the handler is its "data" event, seen without reading the stream.
    const read = new Promise<void>((resolve) => {
      const emit = seen!.call.emit.bind(seen!.call);
      seen!.call.emit = (event: string | symbol, ...args: unknown[]): boolean => {
        const result = emit(event, ...args);
        if (event === "data") resolve();
        return result;
      };
    });
    call.write({ responseParameters: [{ size: 3 }] });
    await within(
      Promise.race([
        read,
        done.then((outcome) => {
          throw new Error(
            `HalfDuplexCall ended with ${showStatus(outcome.status)} before the client ` +
              `half-closed: it keeps the call open, and every request, until the half-close.`,
          );
        }),
      ]),
      "the request at the HalfDuplexCall handler",
    );
    // A whole second call on the same connection: whatever the handler does on a request, it
    // has done by the time another call has come and gone after it.
    const other = await unary(client.emptyCall, client, {});
    expect(other.status.code, showStatus(other.status)).toBe(grpc.status.OK);
    expect(
      seen!.writes,
      "HalfDuplexCall wrote a response before the client half-closed: it is half duplex, the " +
        'requests first, all of them, then the responses. Keep each request until "end" (the ' +
        "client's half-close), and only then send their responses",
    ).toBe(0);
    call.end();
    const outcome = await done;
    expect(outcome.status.code, showStatus(outcome.status)).toBe(grpc.status.OK);
    expect(outcome.messages.map((message) => message.payload?.body.length)).toEqual([3]);
  });

  test("a payload the server will not make is INVALID_ARGUMENT, and the server goes on", async () => {
    const { client } = await startInterop();
    for (const responseSize of [-1, 64 * 1024 * 1024]) {
      const refused = await unary(client.unaryCall, client, { responseSize });
      expect(
        refused.status.code,
        `UnaryCall with response_size ${responseSize}: ${showStatus(refused.status)}. A size the ` +
          `server cannot or will not allocate is the client's mistake: INVALID_ARGUMENT.`,
      ).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const after = await unary<WithPayload>(client.unaryCall, client, { responseSize: 5 });
    expect(after.status.code, showStatus(after.status)).toBe(grpc.status.OK);
    expect(after.messages[0]?.payload?.body.length).toBe(5);
  });
});
