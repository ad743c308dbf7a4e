/**
 * The interop cases again, from a second client that shares no code with grpc-js: Python's
 * grpcio, the C core, running python/interop_client.py against your TestService. One run of the
 * script makes every case; each is a test here, under its interop name.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createInteropServer } from "#lesson/lesson-10-grpc/test-service.ts";
import { within } from "../../shared/testing/patience.ts";
import {
  describeWithGrpcio,
  PythonKilled,
  rethrowStub,
  runPython,
  type PythonRun,
} from "./python.ts";

interface Summary {
  passed: boolean;
  cases: { case: string; ok: boolean; detail: string }[];
}

const CASES = [
  "empty_unary",
  "large_unary",
  "client_streaming",
  "server_streaming",
  "ping_pong",
  "empty_stream",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_method",
  "unimplemented_service",
  "cancel_after_begin",
  "cancel_after_first_response",
  "timeout_on_sleeping_server",
];

/**
 * A run killed on its time limit still printed a line per case it finished ("ok  name" or "FAIL
 * name: why"): those cases report what they printed, the first case with no line is the one that
 * never finished, and the cases after it never ran.
 */
function killedRun(killed: PythonKilled): PythonRun<Summary> {
  const printed = new Map<string, { ok: boolean; detail: string }>();
  for (const line of killed.stdout.split("\n")) {
    const match = /^(ok {2}|FAIL) (\w+)(?:: (.*))?$/.exec(line);
    if (match) printed.set(match[2]!, { ok: match[1] !== "FAIL", detail: match[3] ?? "" });
  }
  const hanging = CASES.find((name) => !printed.has(name));
  const cases = CASES.map((name) => {
    const line = printed.get(name);
    if (line) return { case: name, ...line };
    const detail =
      name === hanging
        ? `killed after ${killed.seconds} s: the case ${name} never finished (a call of it never ended)`
        : `not run: the script was killed while ${hanging ?? "?"} ran`;
    return { case: name, ok: false, detail };
  });
  return { summary: { passed: false, cases }, readable: killed.stdout.trim() };
}

describeWithGrpcio("Step 4: The interop cases", () => {
  let server: grpc.Server | undefined;
  // The one run of the script, or why it could not be made: each test reports it.
  let outcome: Promise<PythonRun<Summary>>;

  beforeAll(async () => {
    server = createInteropServer();
    const bound = server;
    const port = await within(
      new Promise<number>((resolve, reject) =>
        bound.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) =>
          error ? reject(error) : resolve(p),
        ),
      ),
      "the interop server bound to 127.0.0.1:0",
    );
    outcome = runPython<Summary>("interop_client.py", [`127.0.0.1:${port}`]).catch(
      (error: unknown) => {
        if (error instanceof PythonKilled) return killedRun(error);
        throw error;
      },
    );
    outcome.catch(() => {}); // each test awaits it and reports its failure
    await outcome.catch(() => {});
  }, 20_000);

  afterAll(() => server?.forceShutdown());

  for (const name of CASES) {
    test(`${name}, from Python's C-core client`, async () => {
      const { summary, readable } = await outcome;
      const result = summary.cases.find((entry) => entry.case === name);
      expect(result, `The Python client did not run ${name}:\n${readable}`).toBeDefined();
      rethrowStub(result?.detail ?? "");
      expect(
        result?.ok,
        `${name} failed with the C-core client: ${result?.detail ?? ""}. The same case from ` +
          `grpc-js is in step4-interop.test.ts. The Python client said:\n${readable}`,
      ).toBe(true);
    });
  }
});
