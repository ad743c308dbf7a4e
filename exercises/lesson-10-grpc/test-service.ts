/**
 * grpc.testing.TestService, the service every gRPC implementation tests itself against
 * (grpc/grpc, doc/interop-test-descriptions.md, "Server"), on @grpc/grpc-js.
 *
 *   EmptyCall            Empty in, Empty out
 *   UnaryCall            a payload of response_size zeros, or the status asked for
 *   StreamingOutputCall  one response per response_parameters entry, each after its interval_us
 *   StreamingInputCall   the payload sizes added up, once the client half-closes
 *   FullDuplexCall       each request's responses as it arrives; OK once the client half-closes
 *   HalfDuplexCall       every request buffered until the client half-closes, then the responses
 *   UnimplementedCall    not implemented: grpc-js answers UNIMPLEMENTED by itself
 *
 * Every call echoes two metadata keys ("Echo Metadata"): `x-grpc-test-echo-initial` back in the
 * response's initial metadata (HTTP/2 HEADERS before the first message), and
 * `x-grpc-test-echo-trailing-bin` back in its trailing metadata (the HEADERS after the last one,
 * beside grpc-status).
 *
 * createInteropServer() and the loading of the protos are given; the handlers are yours.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { unwrittenFailsTheCall } from "#shared/grpc-todo.ts";
import { todo } from "#shared/todo.ts";
import { LOADER_OPTIONS as USER_LOADER_OPTIONS, protosDir } from "./user-proto.ts";

/** The folder the interop protos are imported from: `grpc/testing/test.proto` is in it. */
export const PROTO_DIR = protosDir();

/** proto-loader's options: the UserService's (camelCase names, enums as strings), from PROTO_DIR. */
export const LOADER_OPTIONS: protoLoader.Options = {
  ...USER_LOADER_OPTIONS,
  includeDirs: [PROTO_DIR],
};

/** Metadata the server sends back in its initial metadata. */
export const ECHO_INITIAL_KEY = "x-grpc-test-echo-initial";
/** Metadata the server sends back in its trailers. `-bin`: the value is bytes, base64 on the wire. */
export const ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin";
/** The largest payload body the server makes: grpc-js's default limit on a received message. */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

// The messages as proto-loader gives them with LOADER_OPTIONS: every field present (defaults:
// true), a message-typed field that was not sent as null, bytes as a Buffer.
export interface Payload {
  type: string;
  body: Buffer;
}
export interface EchoStatus {
  code: number;
  message: string;
}
export interface SimpleRequest {
  responseType: string;
  responseSize: number;
  payload: Payload | null;
  fillUsername: boolean;
  fillOauthScope: boolean;
  responseStatus: EchoStatus | null;
}
export interface SimpleResponse {
  payload?: Payload;
  username?: string;
  oauthScope?: string;
}
export interface StreamingInputCallRequest {
  payload: Payload | null;
}
export interface StreamingInputCallResponse {
  aggregatedPayloadSize: number;
}
export interface ResponseParameters {
  size: number;
  intervalUs: number;
}
export interface StreamingOutputCallRequest {
  responseType: string;
  responseParameters: ResponseParameters[];
  payload: Payload | null;
  responseStatus: EchoStatus | null;
}
export interface StreamingOutputCallResponse {
  payload: Payload;
}
export type Empty = Record<string, never>;

/** What every kind of server call has: the request's metadata, and a way to send metadata back. */
type ServerCall = Pick<
  grpc.ServerUnaryCall<unknown, unknown>,
  "metadata" | "sendMetadata" | "emit"
>;

/** The call a streamed response goes to: StreamingOutputCall's, or a duplex call's. */
export type ResponseStream =
  | grpc.ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>
  | grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>;

/** EmptyCall: the empty message back, with the echoed metadata. */
export function emptyCall(
  call: grpc.ServerUnaryCall<Empty, Empty>,
  callback: grpc.sendUnaryData<Empty>,
): void {
  // TODO: Answer the empty message. Every call of this service does "Echo Metadata"
  // (interop-test-descriptions.md, "Echo Metadata"): the value of ECHO_INITIAL_KEY in the request's
  // metadata goes back in the response's initial metadata, the value of ECHO_TRAILING_KEY in its
  // trailing metadata, beside the status.
  return todo("lesson-10-grpc", "emptyCall()", "Step 4");
}

/** UnaryCall: a payload of `responseSize` zeros, or the call ended with `responseStatus`. */
export function unaryCall(
  call: grpc.ServerUnaryCall<SimpleRequest, SimpleResponse>,
  callback: grpc.sendUnaryData<SimpleResponse>,
): void {
  // TODO: Answer a SimpleResponse whose payload has response_type and a body of response_size
  // zero bytes ("UnaryCall"); INVALID_ARGUMENT for a type other than COMPRESSABLE or a size
  // outside 0..MAX_PAYLOAD_BYTES. When the request has a response_status, end the call with that
  // code and message instead ("Echo Status"). Echo the metadata as emptyCall does.
  return todo("lesson-10-grpc", "unaryCall()", "Step 4");
}

/** StreamingOutputCall: one response per entry of `responseParameters`, then OK. */
export function streamingOutputCall(
  call: grpc.ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  // TODO: Send one StreamingOutputCallResponse per response_parameters entry, in order, each with
  // a body of its size, then end with OK ("StreamingOutputCall"). Each waits its interval_us
  // after the one before ("Observe ResponseParameters.interval_us"); a write that returns false
  // waits for "drain"; a cancelled call ("cancelled") stops at once, its timer cleared, and
  // nothing more is written to it, not even the response it was sleeping before. Echo
  // Status and Echo Metadata as unaryCall does.
  return todo("lesson-10-grpc", "streamingOutputCall()", "Step 4");
}

/** StreamingInputCall: reads until the client half-closes, then the payload sizes added up. */
export function streamingInputCall(
  call: grpc.ServerReadableStream<StreamingInputCallRequest, StreamingInputCallResponse>,
  callback: grpc.sendUnaryData<StreamingInputCallResponse>,
): void {
  // TODO: When the client half-closes (the stream's "end"), answer aggregated_payload_size, the
  // sum of the payload body sizes of every request received ("StreamingInputCall"). A call the
  // client cancels is over: answer nothing. A cancel (RST_STREAM) ends the request stream too, so
  // grpc-js emits "end" first, with call.cancelled still false, and "cancelled" a few ticks
  // later: answer a turn after "end" (setImmediate), if no cancel came. Echo the metadata.
  return todo("lesson-10-grpc", "streamingInputCall()", "Step 4");
}

/** FullDuplexCall: each request's responses as it arrives; OK once the client half-closes. */
export function fullDuplexCall(
  call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  // TODO: For each request as it arrives, its responses as streamingOutputCall sends them; after
  // the client has half-closed and every response is sent, end with OK ("FullDuplexCall"). A
  // request with a response_status ends the call with it, and no later request is processed
  // ("Echo Status"). Echo the metadata.
  return todo("lesson-10-grpc", "fullDuplexCall()", "Step 4");
}

/** HalfDuplexCall: every request kept until the client half-closes, then all their responses. */
export function halfDuplexCall(
  call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  // TODO: Keep every request until the client half-closes, then send all their responses in
  // order as fullDuplexCall does, and end with OK (test.proto, HalfDuplexCall).
  return todo("lesson-10-grpc", "halfDuplexCall()", "Step 4");
}

// ----- Given: the protos loaded, and the handlers put together as a grpc-js server. -----

/** grpc.testing, loaded from PROTO_DIR with proto-loader. */
export function loadTestingPackage(): grpc.GrpcObject {
  const definition = protoLoader.loadSync("grpc/testing/test.proto", LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as { grpc: { testing: grpc.GrpcObject } };
  return loaded.grpc.testing;
}

/** TestService with the handlers above; UnimplementedCall left out. Unstarted: the caller binds. */
export function createInteropServer(): grpc.Server {
  const TestService = loadTestingPackage().TestService as grpc.ServiceClientConstructor;
  const server = new grpc.Server();
  server.addService(TestService.service, {
    emptyCall: unwrittenFailsTheCall(emptyCall),
    unaryCall: unwrittenFailsTheCall(unaryCall),
    streamingOutputCall: unwrittenFailsTheCall(streamingOutputCall),
    streamingInputCall: unwrittenFailsTheCall(streamingInputCall),
    fullDuplexCall: unwrittenFailsTheCall(fullDuplexCall),
    halfDuplexCall: unwrittenFailsTheCall(halfDuplexCall),
  });
  return server;
}
