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
  echoInitial(call);
  callback(null, {}, echoTrailing(call));
}

/** UnaryCall: a payload of `responseSize` zeros, or the call ended with `responseStatus`. */
export function unaryCall(
  call: grpc.ServerUnaryCall<SimpleRequest, SimpleResponse>,
  callback: grpc.sendUnaryData<SimpleResponse>,
): void {
  echoInitial(call);
  const request = call.request;
  // "Echo Status": the call ends with the status the client asked for. grpc-js puts it in the
  // trailers as grpc-status and grpc-message, percent-encoding the message itself.
  if (request.responseStatus && request.responseStatus.code !== grpc.status.OK) {
    callback(statusOf(request.responseStatus, call));
    return;
  }
  const refused = refusePayload(request.responseType, request.responseSize);
  if (refused) {
    callback({ ...refused, metadata: echoTrailing(call) });
    return;
  }
  callback(
    null,
    { payload: zeros(request.responseType, request.responseSize) },
    echoTrailing(call),
  );
}

/** StreamingOutputCall: one response per entry of `responseParameters`, then OK. */
export function streamingOutputCall(
  call: grpc.ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  echoInitial(call);
  const responses = new Responses(call);
  responses.add(call.request);
  responses.end();
}

/** StreamingInputCall: reads until the client half-closes, then the payload sizes added up. */
export function streamingInputCall(
  call: grpc.ServerReadableStream<StreamingInputCallRequest, StreamingInputCallResponse>,
  callback: grpc.sendUnaryData<StreamingInputCallResponse>,
): void {
  echoInitial(call);
  let aggregatedPayloadSize = 0;
  call.on("data", (request: StreamingInputCallRequest) => {
    aggregatedPayloadSize += request.payload?.body.length ?? 0;
  });
  // "end" is the client's half-close: its DATA frame with END_STREAM. A cancel (RST_STREAM) ends
  // the request stream too, and grpc-js emits "end" first, "cancelled" a few ticks later. So the
  // answer waits a turn: a call the client cancelled is over, and nobody reads an answer.
  call.on("end", () =>
    setImmediate(() => {
      if (!call.cancelled) callback(null, { aggregatedPayloadSize }, echoTrailing(call));
    }),
  );
  call.on("error", () => {});
}

/** FullDuplexCall: each request's responses as it arrives; OK once the client half-closes. */
export function fullDuplexCall(
  call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  echoInitial(call);
  const responses = new Responses(call);
  call.on("data", (request: StreamingOutputCallRequest) => responses.add(request));
  call.on("end", () => responses.end());
  call.on("error", () => responses.cancel());
}

/** HalfDuplexCall: every request kept until the client half-closes, then all their responses. */
export function halfDuplexCall(
  call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>,
): void {
  echoInitial(call);
  const requests: StreamingOutputCallRequest[] = [];
  const responses = new Responses(call);
  call.on("data", (request: StreamingOutputCallRequest) => requests.push(request));
  call.on("end", () => {
    for (const request of requests) responses.add(request);
    responses.end();
  });
  call.on("error", () => responses.cancel());
}

/**
 * The responses of one streaming call, sent in order, each `intervalUs` after the one before
 * ("Observe ResponseParameters.interval_us": the interval is a sleep before the response, and
 * the intervals add up), and only as fast as the client reads (a write that returns false waits
 * for "drain"). A cancelled call stops at once: no timer is left running for a client that is gone.
 */
class Responses {
  readonly #call: ResponseStream;
  readonly #queue: { type: string; size: number; intervalUs: number }[] = [];
  /** What the next response waits for: nothing, its interval, or the client to read. */
  #state: "ready" | "sleeping" | "draining" | "closed" = "ready";
  /** Whether the call ends with OK once the queue is empty (the client has half-closed). */
  #ending = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(call: ResponseStream) {
    this.#call = call;
    // grpc-js emits "cancelled" on RST_STREAM from the client, on a passed deadline, and when the
    // connection goes away.
    call.on("cancelled", () => this.cancel());
  }

  /** Queues one request's responses, or ends the call with the status it asks for. */
  add(request: StreamingOutputCallRequest): void {
    if (this.#state === "closed") return;
    // "Echo Status": the call ends with that status, and no further message is processed.
    if (request.responseStatus && request.responseStatus.code !== grpc.status.OK) {
      this.#fail(statusOf(request.responseStatus, this.#call));
      return;
    }
    for (const parameters of request.responseParameters) {
      const refused = refusePayload(request.responseType, parameters.size);
      if (refused) {
        this.#fail({ ...refused, metadata: echoTrailing(this.#call) });
        return;
      }
      this.#queue.push({ type: request.responseType, ...parameters });
    }
    this.#next();
  }

  /** The client has half-closed: end with OK once every queued response is sent. */
  end(): void {
    this.#ending = true;
    this.#next();
  }

  cancel(): void {
    this.#close();
  }

  #next(): void {
    if (this.#state !== "ready") return;
    const next = this.#queue[0];
    if (next === undefined) {
      if (this.#ending) {
        this.#close();
        this.#call.end(echoTrailing(this.#call));
      }
      return;
    }
    if (next.intervalUs > 0) {
      this.#state = "sleeping";
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#state = "ready";
        this.#send();
      }, next.intervalUs / 1000);
      return;
    }
    this.#send();
  }

  #send(): void {
    const next = this.#queue.shift();
    if (next === undefined || this.#state === "closed") return;
    const more = this.#call.write({ payload: zeros(next.type, next.size) });
    if (!more) {
      this.#state = "draining";
      this.#call.once("drain", () => {
        if (this.#state !== "draining") return;
        this.#state = "ready";
        this.#next();
      });
      return;
    }
    this.#next();
  }

  #fail(status: Partial<grpc.StatusObject>): void {
    this.#close();
    this.#call.emit("error", status);
  }

  #close(): void {
    this.#state = "closed";
    this.#queue.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** "Echo Metadata": x-grpc-test-echo-initial goes back in the initial metadata. */
function echoInitial(call: ServerCall): void {
  const values = call.metadata.get(ECHO_INITIAL_KEY);
  if (values.length === 0) return;
  const echoed = new grpc.Metadata();
  for (const value of values) echoed.add(ECHO_INITIAL_KEY, value);
  call.sendMetadata(echoed);
}

/** "Echo Metadata": x-grpc-test-echo-trailing-bin goes back in the trailers, beside the status. */
function echoTrailing(call: ServerCall): grpc.Metadata {
  const trailer = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_TRAILING_KEY)) trailer.add(ECHO_TRAILING_KEY, value);
  return trailer;
}

function statusOf(status: EchoStatus, call: ServerCall): Partial<grpc.StatusObject> {
  return { code: status.code, details: status.message, metadata: echoTrailing(call) };
}

/** Why a payload cannot be made, as a status; undefined when it can. */
function refusePayload(type: string, size: number): Partial<grpc.StatusObject> | undefined {
  // "If the server does not support the response_type, then it should fail the RPC with
  // INVALID_ARGUMENT."
  if (type !== "COMPRESSABLE") {
    return { code: grpc.status.INVALID_ARGUMENT, details: `Unsupported payload type ${type}` };
  }
  if (size < 0 || size > MAX_PAYLOAD_BYTES) {
    return {
      code: grpc.status.INVALID_ARGUMENT,
      details: `Payload size ${size} is not between 0 and ${MAX_PAYLOAD_BYTES}`,
    };
  }
  return undefined;
}

function zeros(type: string, size: number): Payload {
  return { type, body: Buffer.alloc(size) };
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
