/**
 * The interop cases again, from a second client that shares no code with grpc-js: Python's
 * grpcio, the C core, running python/interop_client.py against your TestService. One run of the
 * script makes every case; each is a test here, under its interop name.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createInteropServer } from "#lesson/lesson-10-grpc/test-service.ts";
import { within } from "../../shared/testing/patience.ts";
import { describeWithGrpcio, rethrowStub, runPython, type PythonRun } from "./python.ts";

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
    outcome = runPython<Summary>("interop_client.py", [`127.0.0.1:${port}`]);
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
