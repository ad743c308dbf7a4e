/**
 * Your UserService called by a client nobody here wrote: Python's grpcio, the C core (Debian's
 * python3-grpcio under /usr/bin/python3), running python/client.py. It compiles user.proto itself,
 * so the only thing it shares with this course is the .proto file and the bytes on the wire.
 */
import * as grpc from "@grpc/grpc-js";
import { expect, onTestFinished, test } from "vitest";
import { createServer } from "#lesson/lesson-10-grpc/server.ts";
import { within } from "../../shared/testing/patience.ts";
import { describeWithGrpcio, rethrowStub, runPython } from "./python.ts";

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

    const { summary, readable } = await runPython<Summary>("client.py", [`127.0.0.1:${port}`]);
    rethrowStub(readable);

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
