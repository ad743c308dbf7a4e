/**
 * Your UserService called by a client nobody here wrote: Python's grpcio, the C core (Debian's
 * python3-grpcio under /usr/bin/python3), running python/client.py. It compiles user.proto itself,
 * so the only thing it shares with this course is the .proto file and the bytes on the wire.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, onTestFinished, test } from "vitest";
import { createServer } from "#lesson/lesson-10-grpc/server.ts";
import { within } from "../../shared/testing/patience.ts";
import { isCI, run } from "../../shared/testing/tools.ts";

/** Debian's own python: the one the apt packages install grpc for (a pyenv python may lack it). */
const PYTHON = "/usr/bin/python3";
const CLIENT = fileURLToPath(new URL("./python/client.py", import.meta.url));
const INSTALL = "apt-get install python3-grpcio python3-grpc-tools";

const hasGrpcio =
  spawnSync(PYTHON, ["-c", "import grpc, grpc_tools.protoc"], { stdio: "ignore" }).status === 0;

/** As describeWithTool (shared/testing/tools.ts): skipped without grpcio, but never under CI. */
const describeWithGrpcio: typeof describe =
  hasGrpcio || isCI
    ? describe
    : (((name: string, ...rest: unknown[]) =>
        (describe.skip as (...args: unknown[]) => void)(
          `${name} (skipped: ${PYTHON} cannot import grpc; ${INSTALL})`,
          ...rest,
        )) as typeof describe);

interface Summary {
  passed: boolean;
  checks: { check: string; ok: boolean; got: unknown }[];
}

describeWithGrpcio("Step 3: The UserService on grpc-js", () => {
  test("the C-core Python client gets a user, a stream, NOT_FOUND, DEADLINE_EXCEEDED and UNAUTHENTICATED", async () => {
    const server = createServer();
    onTestFinished(() => server.forceShutdown());
    const port = await within(
      new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      ),
      "createServer()'s server bound to 127.0.0.1:0",
    );

    let output: string;
    try {
      // Python starts, compiles the proto and makes six calls: about a second, more on a busy
      // machine. The client's own deadlines bound each call.
      const result = await run(PYTHON, [CLIENT, `127.0.0.1:${port}`], { timeout: 15_000 });
      output = result.stdout;
    } catch (error) {
      const failed = error as Error & { stdout?: string; stderr?: string; code?: unknown };
      output = failed.stdout ?? "";
      if (!output.includes('"checks"')) {
        throw new Error(
          `${PYTHON} ${CLIENT} 127.0.0.1:${port} ended (${String(failed.code)}) without its ` +
            `summary:\n${output}${failed.stderr ?? ""}`,
          { cause: error },
        );
      }
    }
    const lines = output.trim().split("\n");
    const summary = JSON.parse(lines.at(-1) ?? "{}") as Summary;
    const readable = lines.slice(0, -1).join("\n");
    const stub = /\S*\(\) is not written yet\. Read Step \d+ in \S+/.exec(output);
    if (stub) throw new Error(`lesson-10-grpc: ${stub[0]}`);

    const expected: Record<string, string> = {
      unary: `GetUser(id: "123") answers Ada Lovelace`,
      server_streaming: "ListUsers(limit: 3) streams users 101, 102 and 103, in id order",
      status: `GetUser(id: "999") fails with 5 NOT_FOUND and a message that names the id`,
      deadline:
        "an ImportUsers the client never half-closes fails with 4 DEADLINE_EXCEEDED once its " +
        "500 ms deadline (the request's grpc-timeout header) passes: the server answers " +
        "ImportUsers only after the client's half-close",
      metadata:
        "CreateUser without `authorization` fails with 16 UNAUTHENTICATED, and with " +
        "`authorization: Bearer demo-token` creates the user",
    };
    for (const check of summary.checks) {
      expect
        .soft(
          check.ok,
          `${expected[check.check] ?? check.check}. The Python client said:\n${readable}`,
        )
        .toBe(true);
    }
    expect(
      summary.checks.map((check) => check.check),
      `The client made every check:\n${readable}`,
    ).toEqual(Object.keys(expected));
  }, 20_000);
});
