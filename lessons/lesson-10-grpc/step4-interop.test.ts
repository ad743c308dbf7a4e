/**
 * The gRPC interop cases (grpc/grpc, doc/interop-test-descriptions.md), as grpc-node's own interop
 * client runs them, against your grpc.testing.TestService, with grpc-js as the client. Each test
 * is named after its case; the requests, sizes and assertions are the document's.
 */
import { describe, expect, test } from "vitest";
import {
  bidi,
  clientStream,
  grpc,
  serverStream,
  showMetadata,
  showStatus,
  startInterop,
  unary,
  zeros,
  type Outcome,
} from "./interop.ts";

const OK = grpc.status.OK;

interface Payload {
  type: string;
  body: Buffer;
}
interface WithPayload {
  payload: Payload | null;
}

function expectOk(outcome: Outcome<unknown>, what: string): void {
  expect(
    outcome.status.code,
    `${what} should end with status 0 OK; it ended with ${showStatus(outcome.status)}`,
  ).toBe(OK);
}

function expectZeros(message: WithPayload | undefined, size: number, what: string): void {
  expect(message?.payload?.type, `${what}: payload.type should be COMPRESSABLE`).toBe(
    "COMPRESSABLE",
  );
  const body = message?.payload?.body ?? Buffer.alloc(0);
  expect(body.length, `${what}: payload.body should be ${size} bytes`).toBe(size);
  expect(
    body.every((byte) => byte === 0),
    `${what}: payload.body should be all zeros`,
  ).toBe(true);
}

function sizes(messages: WithPayload[]): number[] {
  return messages.map((message) => message.payload?.body.length ?? -1);
}

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";

function echoMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(ECHO_INITIAL, "test_initial_metadata_value");
  metadata.set(ECHO_TRAILING, Buffer.from("ababab", "hex"));
  return metadata;
}

function expectEchoed(outcome: Outcome<unknown>, call: string): void {
  const initial = outcome.initial;
  const trailers = outcome.status.metadata;
  const seen = `\n  initial metadata: ${showMetadata(initial)}\n  trailers: ${showMetadata(trailers)}`;
  expect(
    initial?.get(ECHO_TRAILING) ?? [],
    `${call}: ${ECHO_TRAILING} came back in the initial metadata. It is trailing metadata: the ` +
      `server sends it in the HEADERS frame after the last message, beside grpc-status ` +
      `(the trailer argument of the callback, or call.end(trailer)).${seen}`,
  ).toEqual([]);
  expect(
    initial?.get(ECHO_INITIAL),
    `${call}: the server should send ${ECHO_INITIAL} back in its initial metadata ` +
      `(call.sendMetadata before the first message).${seen}`,
  ).toEqual(["test_initial_metadata_value"]);
  const echoed = trailers.get(ECHO_TRAILING)[0];
  expect(
    Buffer.isBuffer(echoed) ? echoed.toString("hex") : echoed,
    `${call}: the server should send ${ECHO_TRAILING} back in its trailers, the same bytes ` +
      `0xababab.${seen}`,
  ).toBe("ababab");
}

/** After a case that cut a call short, the server should still answer the same method. */
async function expectStillServing(
  client: Awaited<ReturnType<typeof startInterop>>["client"],
): Promise<void> {
  const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client);
  call.write({ responseParameters: [{ size: 1 }] });
  call.end();
  const outcome = await done;
  expectOk(outcome, "A FullDuplexCall after that one");
  expect(sizes(outcome.messages)).toEqual([1]);
}

describe("Step 4: The interop cases", () => {
  test("empty_unary: EmptyCall answers the empty message", async () => {
    const { client } = await startInterop();
    const outcome = await unary<object>(client.emptyCall, client, {});
    expectOk(outcome, "EmptyCall");
    expect(outcome.messages, "EmptyCall should answer one Empty message").toEqual([{}]);
  });

  test("large_unary: UnaryCall takes 271,828 bytes and answers 314,159", async () => {
    const { client } = await startInterop();
    const outcome = await unary<WithPayload>(client.unaryCall, client, {
      responseType: "COMPRESSABLE",
      responseSize: 314_159,
      payload: { body: zeros(271_828) },
    });
    expectOk(outcome, "UnaryCall");
    expectZeros(outcome.messages[0], 314_159, "The SimpleResponse");
  });

  test("client_streaming: StreamingInputCall adds up 27182 + 8 + 1828 + 45904 bytes", async () => {
    const { client } = await startInterop();
    const { call, done } = clientStream<{ aggregatedPayloadSize: number }>(
      client.streamingInputCall,
      client,
    );
    for (const size of [27_182, 8, 1_828, 45_904]) call.write({ payload: { body: zeros(size) } });
    call.end();
    const outcome = await done;
    expectOk(outcome, "StreamingInputCall");
    expect(
      outcome.messages[0]?.aggregatedPayloadSize,
      "aggregated_payload_size should be the sum of the payload bodies received",
    ).toBe(74_922);
  });

  test("server_streaming: StreamingOutputCall sends four payloads of the sizes asked, in order", async () => {
    const { client } = await startInterop();
    const { done } = serverStream<WithPayload>(client.streamingOutputCall, client, {
      responseType: "COMPRESSABLE",
      responseParameters: [{ size: 31_415 }, { size: 9 }, { size: 2_653 }, { size: 58_979 }],
    });
    const outcome = await done;
    expectOk(outcome, "StreamingOutputCall");
    expect(
      sizes(outcome.messages),
      "One response per response_parameters entry, each with a body of its size",
    ).toEqual([31_415, 9, 2_653, 58_979]);
    outcome.messages.forEach((message, i) =>
      expectZeros(message, message.payload?.body.length ?? 0, `Response ${i}`),
    );
  });

  test("ping_pong: FullDuplexCall answers each request before the next is sent", async () => {
    const { client } = await startInterop();
    const requestSizes = [27_182, 8, 1_828, 45_904];
    const responseSizes = [31_415, 9, 2_653, 58_979];
    const ping = (i: number) => ({
      responseType: "COMPRESSABLE",
      responseParameters: [{ size: responseSizes[i] }],
      payload: { body: zeros(requestSizes[i] ?? 0) },
    });
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client, {}, (_m, messages) => {
      // The next request goes out only after the reply to this one has come.
      if (messages.length < 4) call.write(ping(messages.length));
      else call.end();
    });
    call.write(ping(0));
    const outcome = await done;
    expectOk(outcome, "FullDuplexCall");
    expect(sizes(outcome.messages)).toEqual(responseSizes);
  });

  test("empty_stream: FullDuplexCall with no requests ends OK with no responses", async () => {
    const { client } = await startInterop();
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client);
    call.end();
    const outcome = await done;
    expectOk(outcome, "A FullDuplexCall the client half-closed at once");
    expect(outcome.messages, "No request, so no response").toEqual([]);
  });

  test("custom_metadata: the server echoes initial metadata in HEADERS and -bin metadata in trailers", async () => {
    const { client } = await startInterop();
    const single = await unary<WithPayload>(
      client.unaryCall,
      client,
      { responseType: "COMPRESSABLE", responseSize: 314_159, payload: { body: zeros(271_828) } },
      { metadata: echoMetadata() },
    );
    expectOk(single, "UnaryCall");
    expectEchoed(single, "UnaryCall");

    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client, {
      metadata: echoMetadata(),
    });
    call.write({ responseParameters: [{ size: 314_159 }], payload: { body: zeros(271_828) } });
    call.end();
    const duplex = await done;
    expectOk(duplex, "FullDuplexCall");
    expectEchoed(duplex, "FullDuplexCall");
  });

  test("status_code_and_message: the status asked for comes back, code and message", async () => {
    const { client } = await startInterop();
    const request = { responseStatus: { code: 2, message: "test status message" } };
    const single = await unary(client.unaryCall, client, request);
    expect(showStatus(single.status), "UnaryCall should end with the status it was asked for").toBe(
      showStatus({ code: 2, details: "test status message", metadata: new grpc.Metadata() }),
    );

    const { call, done } = bidi(client.fullDuplexCall, client);
    call.write(request);
    call.end();
    const duplex = await done;
    expect(
      showStatus(duplex.status),
      "FullDuplexCall should end with the status its request asked for",
    ).toBe(showStatus({ code: 2, details: "test status message", metadata: new grpc.Metadata() }));
  });

  test("special_status_message: whitespace, CR LF and emoji survive grpc-message", async () => {
    const { client } = await startInterop();
    const message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    const outcome = await unary(client.unaryCall, client, {
      responseStatus: { code: 2, message },
    });
    expect(outcome.status.code, `Status: ${showStatus(outcome.status)}`).toBe(2);
    expect(
      outcome.status.details,
      `The message should arrive as it was sent. grpc-message is percent-encoded on the wire ` +
        `(PROTOCOL-HTTP2.md, "Status-Message"), and grpc-js does that itself, both ways: give it ` +
        `the text as it is (encoding it yourself sends "%09%0A..." as the message's own text).`,
    ).toBe(message);
  });

  test("unimplemented_method: UnimplementedCall ends with 12 UNIMPLEMENTED", async () => {
    const { client } = await startInterop();
    // The same server answers a method it implements,
    expectOk(await unary(client.emptyCall, client, {}), "EmptyCall");
    // and refuses the one no TestService implements.
    const outcome = await unary(client.unimplementedCall, client, {});
    expect(
      outcome.status.code,
      `grpc.testing.TestService/UnimplementedCall should end with 12 UNIMPLEMENTED; it ended ` +
        `with ${showStatus(outcome.status)}. Leave that method out of the service's implementation.`,
    ).toBe(grpc.status.UNIMPLEMENTED);
  });

  test("unimplemented_service: a service the server lacks ends with 12 UNIMPLEMENTED", async () => {
    const { client, unimplemented } = await startInterop();
    expectOk(await unary(client.emptyCall, client, {}), "EmptyCall");
    const outcome = await unary(unimplemented.unimplementedCall, unimplemented, {});
    expect(outcome.status.code, `Status: ${showStatus(outcome.status)}`).toBe(
      grpc.status.UNIMPLEMENTED,
    );
  });

  test("cancel_after_begin: a StreamingInputCall cancelled before any message ends CANCELLED", async () => {
    const { client } = await startInterop();
    const { call, done } = clientStream(client.streamingInputCall, client);
    call.cancel();
    const outcome = await done;
    expect(outcome.status.code, `Status: ${showStatus(outcome.status)}`).toBe(
      grpc.status.CANCELLED,
    );
    // The server goes on: the next call on the same method works.
    const next = clientStream<{ aggregatedPayloadSize: number }>(client.streamingInputCall, client);
    next.call.write({ payload: { body: zeros(8) } });
    next.call.end();
    const after = await next.done;
    expectOk(after, "A StreamingInputCall after the cancelled one");
    expect(after.messages[0]?.aggregatedPayloadSize).toBe(8);
  });

  test("cancel_after_first_response: a FullDuplexCall cancelled after one response ends CANCELLED", async () => {
    const { client } = await startInterop();
    const { call, done } = bidi<WithPayload>(client.fullDuplexCall, client, {}, () =>
      call.cancel(),
    );
    call.write({
      responseType: "COMPRESSABLE",
      responseParameters: [{ size: 31_415 }],
      payload: { body: zeros(27_182) },
    });
    const outcome = await done;
    expect(sizes(outcome.messages), "One response, then the client cancelled").toEqual([31_415]);
    expect(outcome.status.code, `Status: ${showStatus(outcome.status)}`).toBe(
      grpc.status.CANCELLED,
    );
    await expectStillServing(client);
  });

  test("timeout_on_sleeping_server: a FullDuplexCall past its 1 ms deadline ends DEADLINE_EXCEEDED", async () => {
    const { client } = await startInterop();
    const { call, done } = bidi(client.fullDuplexCall, client, { timeoutMs: 1 });
    call.write({ payload: { body: zeros(27_182) } });
    const outcome = await done;
    expect(outcome.status.code, `Status: ${showStatus(outcome.status)}`).toBe(
      grpc.status.DEADLINE_EXCEEDED,
    );
    await expectStillServing(client);
  });
});
