/**
 * Test helpers for the interop cases (Step 4): your TestService on 127.0.0.1:0 until the test
 * ends, the official client side (grpc-js with the protos loaded by proto-loader, as grpc-node's
 * own interop client loads them), and each call's whole outcome: its initial metadata, its
 * messages, and its status with the trailers.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { onTestFinished } from "vitest";
import { createInteropServer } from "#lesson/lesson-10-grpc/test-service.ts";
import { serveGrpc, type ServedGrpc } from "../../shared/testing/grpc.ts";
import { within } from "../../shared/testing/patience.ts";

const PROTOS = fileURLToPath(new URL("./protos/", import.meta.url));

const testing = (
  grpc.loadPackageDefinition(
    protoLoader.loadSync("grpc/testing/test.proto", {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [PROTOS],
    }),
  ) as unknown as { grpc: { testing: Record<string, grpc.ServiceClientConstructor> } }
).grpc.testing;

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback,
) => grpc.ClientUnaryCall;
type ClientStreamMethod = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback,
) => grpc.ClientWritableStream<unknown>;
type ServerStreamMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
) => grpc.ClientReadableStream<unknown>;
type BidiMethod = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
) => grpc.ClientDuplexStream<unknown, unknown>;

export interface TestServiceClient extends grpc.Client {
  emptyCall: UnaryMethod;
  unaryCall: UnaryMethod;
  unimplementedCall: UnaryMethod;
  streamingOutputCall: ServerStreamMethod;
  streamingInputCall: ClientStreamMethod;
  fullDuplexCall: BidiMethod;
  halfDuplexCall: BidiMethod;
}

export interface Interop extends Pick<ServedGrpc, "calls" | "reached"> {
  /** 127.0.0.1:PORT */
  address: string;
  server: grpc.Server;
  /** A grpc.testing.TestService client on its own channel. */
  client: TestServiceClient;
  /** A grpc.testing.UnimplementedService client, which no server implements. */
  unimplemented: TestServiceClient;
}

/**
 * createInteropServer() bound to 127.0.0.1:0, and clients; all closed when the test ends. Served
 * by serveGrpc (shared/testing/grpc.ts): `calls` has what each handler did with its writes.
 */
export async function startInterop(): Promise<Interop> {
  const server = createInteropServer();
  const served = await serveGrpc(server);
  const address = served.address;
  const open = (name: string): TestServiceClient => {
    const Client = testing[name] as grpc.ServiceClientConstructor;
    const client = new Client(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as TestServiceClient;
    onTestFinished(() => client.close());
    return client;
  };
  return {
    address,
    server,
    calls: served.calls,
    reached: served.reached,
    client: open("TestService"),
    unimplemented: open("UnimplementedService"),
  };
}

/** A buffer of `size` zeros: what every interop payload carries. */
export function zeros(size: number): Buffer {
  return Buffer.alloc(size);
}

export interface Outcome<T> {
  /** The server's initial metadata, if any came (a trailers-only answer has none). */
  initial: grpc.Metadata | undefined;
  /** The messages received, in order. */
  messages: T[];
  /** The final status, with the trailers as status.metadata. */
  status: grpc.StatusObject;
}

export interface CallSetup {
  metadata?: grpc.Metadata;
  /** Milliseconds from now. */
  timeoutMs?: number;
}

function optionsOf(setup: CallSetup): grpc.CallOptions {
  return setup.timeoutMs === undefined ? {} : { deadline: Date.now() + setup.timeoutMs };
}

/**
 * A handler you have not written yet ends its call with UNIMPLEMENTED and says so (see
 * createInteropServer): fail the test with its own message.
 */
export function rethrowStub(status: grpc.StatusObject): void {
  if (status.code === grpc.status.UNIMPLEMENTED && /is not written yet/.test(status.details)) {
    throw new Error(status.details);
  }
}

// What ends each kind of call, for the message of a call that never ended.
const UNARY_ENDS = "a unary handler ends its call by calling its callback, on every path.";
const INTERVAL =
  "interval_us is in microseconds (40000 is 40 ms), and the sleeps of one call add up.";
const SERVER_STREAM_ENDS =
  "a server stream has no half-close to wait for: the server ends it with OK (call.end()) " +
  `once every response is sent, each after its interval. ${INTERVAL}`;
const CLIENT_STREAM_ENDS =
  'a client stream gets its answer once the client half-closes (the stream\'s "end").';
const BIDI_ENDS =
  "a bidirectional stream ends with OK only after the client has half-closed and every " +
  `response is sent. ${INTERVAL}`;

/** Watches a call until its status, collecting what came before it. */
function watch<T>(
  call:
    grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown> | grpc.ClientWritableStream<unknown>,
  what: string,
  ending: string,
  onMessage?: (message: T, messages: T[]) => void,
): Promise<Outcome<T>> {
  const outcome: Omit<Outcome<T>, "status"> = { initial: undefined, messages: [] };
  const events = call as NodeJS.EventEmitter;
  const ended = new Promise<Outcome<T>>((resolve) => {
    events.on("metadata", (metadata: grpc.Metadata) => (outcome.initial = metadata));
    events.on("data", (message: T) => {
      outcome.messages.push(message);
      onMessage?.(message, outcome.messages);
    });
    events.on("error", () => {}); // the status says it
    events.on("status", (status: grpc.StatusObject) => resolve({ ...outcome, status }));
  });
  return within(
    ended.then((result) => {
      rethrowStub(result.status);
      return result;
    }),
    () =>
      `Nothing after 1500 ms. Expected the status that ends ${what}; ` +
      `received ${outcome.messages.length} message(s) and no status. A call is over only when ` +
      `the server sends its trailers (grpc-status); ${ending}`,
  );
}

/** One unary call, to its status. */
export function unary<T>(
  method: UnaryMethod,
  client: TestServiceClient,
  request: unknown,
  setup: CallSetup = {},
): Promise<Outcome<T>> {
  // A unary call's response comes to the callback, not as a "data" event.
  let response: T | undefined;
  const call = method.call(
    client,
    request,
    setup.metadata ?? new grpc.Metadata(),
    optionsOf(setup),
    (_error, value) => (response = value as T),
  );
  return watch<T>(call, "the unary call", UNARY_ENDS).then((outcome) => ({
    ...outcome,
    messages: response === undefined ? [] : [response],
  }));
}

/** One server-streaming call, to its status. */
export function serverStream<T>(
  method: ServerStreamMethod,
  client: TestServiceClient,
  request: unknown,
  setup: CallSetup = {},
): { call: grpc.ClientReadableStream<unknown>; done: Promise<Outcome<T>> } {
  const call = method.call(
    client,
    request,
    setup.metadata ?? new grpc.Metadata(),
    optionsOf(setup),
  );
  return { call, done: watch<T>(call, "the server-streaming call", SERVER_STREAM_ENDS) };
}

/** One client-streaming call: write `requests` with `write`, then half-close with `end`. */
export function clientStream<T>(
  method: ClientStreamMethod,
  client: TestServiceClient,
  setup: CallSetup = {},
): { call: grpc.ClientWritableStream<unknown>; done: Promise<Outcome<T>> } {
  let response: T | undefined;
  const call = method.call(
    client,
    setup.metadata ?? new grpc.Metadata(),
    optionsOf(setup),
    (_error, value) => {
      response = value as T;
    },
  );
  const done = watch<T>(call, "the client-streaming call", CLIENT_STREAM_ENDS).then((outcome) => ({
    ...outcome,
    messages: response === undefined ? [] : [response],
  }));
  return { call, done };
}

/** One bidirectional call; `onMessage` sees each message as it comes. */
export function bidi<T>(
  method: BidiMethod,
  client: TestServiceClient,
  setup: CallSetup = {},
  onMessage?: (message: T, messages: T[]) => void,
): { call: grpc.ClientDuplexStream<unknown, unknown>; done: Promise<Outcome<T>> } {
  const call = method.call(client, setup.metadata ?? new grpc.Metadata(), optionsOf(setup));
  return { call, done: watch<T>(call, "the bidirectional call", BIDI_ENDS, onMessage) };
}

/** A status in one line: `2 UNKNOWN "test status message"`. */
export function showStatus(status: grpc.StatusObject): string {
  return `${status.code} ${grpc.status[status.code] ?? "?"} ${JSON.stringify(status.details)}`;
}

/** Metadata in one line, values of -bin keys in hex. */
export function showMetadata(metadata: grpc.Metadata | undefined): string {
  if (metadata === undefined) return "(none)";
  const entries = Object.entries(metadata.getMap()).map(
    ([key, value]) => `${key}: ${Buffer.isBuffer(value) ? `0x${value.toString("hex")}` : value}`,
  );
  return `{${entries.join(", ")}}`;
}

export { grpc };
