/**
 * One gRPC method, UserService.GetUser, served by hand on node:http2 with the codec of Step 1:
 * no gRPC library on the server side, and yet @grpc/grpc-js calls it as it calls any gRPC server.
 *
 *   client                                       server
 *   HEADERS  :method POST                         (a 415 if content-type is not gRPC's)
 *            :path /users.v1.UserService/GetUser
 *            content-type application/grpc
 *            te trailers, grpc-timeout 1S
 *   DATA     00 00000005 0a03313233  END_STREAM  ─► one GetUserRequest, deframed and decoded
 *                                                ◄─ HEADERS :status 200, content-type
 *                                                ◄─ DATA    00 00000031 0a03313233...
 *                                                ◄─ HEADERS grpc-status 0  END_STREAM (trailers)
 *
 * A call that fails before any message gets one HEADERS frame: :status 200, content-type,
 * grpc-status and grpc-message, with END_STREAM (a Trailers-Only response). One bad call ends
 * with its own status; the server goes on serving every other stream on the connection.
 */
import http2 from "node:http2";
import { setTimeout as startTimer, clearTimeout } from "node:timers";
import { IdSchema } from "#reference/lesson-08-rest/schemas.ts";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import {
  encodeGrpcMessage,
  frameMessage,
  GrpcWireError,
  MessageDeframer,
  parseTimeout,
  Status,
  type LengthPrefixedMessage,
  type StatusCode,
} from "./grpc-wire.ts";
import { GetUserRequestSpec, UserSpec } from "./messages.ts";
import { decodeMessage, encodeMessage, ProtobufError } from "./protobuf.ts";

/** The one method this server has: "/" Service-Name "/" method name (PROTOCOL-HTTP2.md, Path). */
export const GET_USER_PATH = "/users.v1.UserService/GetUser";

export interface HandServerOptions {
  /** The users; default a fresh store with the course's data set. */
  store?: Store;
  /**
   * How long each lookup waits before it reads the store, in ms. Default 0. A slow lookup shows
   * a deadline passing: the call ends with DEADLINE_EXCEEDED and the lookup never runs.
   */
  lookupDelayMs?: number;
  /** The largest request message taken; larger is RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes?: number;
}

/** Where one call is: reading its request, looking the user up, or answered (or gone). */
export type CallState = "reading" | "working" | "done";

interface Call {
  stream: http2.ServerHttp2Stream;
  state: CallState;
  /** Made once the headers are those of a gRPC call. */
  deframer: MessageDeframer | undefined;
  messages: LengthPrefixedMessage[];
  /** The request's grpc-encoding: what a Compressed-Flag of 1 would mean. */
  encoding: string | undefined;
  deadline: NodeJS.Timeout | undefined;
  lookup: NodeJS.Timeout | undefined;
  store: Store;
  lookupDelayMs: number;
  maxMessageBytes: number | undefined;
}

/** An unstarted HTTP/2 server (cleartext, "h2c", as gRPC without TLS is) answering GetUser. */
export function createHandServer(options: HandServerOptions = {}): http2.Http2Server {
  const store = options.store ?? createStore();
  const lookupDelayMs = options.lookupDelayMs ?? 0;
  const maxMessageBytes = options.maxMessageBytes;
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on("error", streamOnError);
    const call: Call = {
      stream,
      state: "reading",
      deframer: undefined,
      messages: [],
      encoding: single(headers["grpc-encoding"]),
      deadline: undefined,
      lookup: undefined,
      store,
      lookupDelayMs,
      maxMessageBytes,
    };
    try {
      startCall(call, headers);
    } catch (error) {
      failed(call, error);
    }
  });
  return server;
}

function startCall(call: Call, headers: http2.IncomingHttpHeaders): void {
  const { stream } = call;
  // Anything not a gRPC request is answered in plain HTTP, so that no HTTP client reads a gRPC
  // error (which is a 200) as a success.
  if (headers[":method"] !== "POST") {
    respondHttp(call, 405, { allow: "POST" });
    return;
  }
  // PROTOCOL-HTTP2.md: "If Content-Type does not begin with "application/grpc", gRPC servers
  // SHOULD respond with HTTP status of 415". This server speaks protobuf only: application/grpc
  // (protobuf by default) and application/grpc+proto.
  const contentType = (single(headers["content-type"]) ?? "").split(";")[0]?.trim();
  if (contentType !== "application/grpc" && contentType !== "application/grpc+proto") {
    respondHttp(
      call,
      415,
      { "content-type": "text/plain" },
      "Unsupported Media Type: this is a gRPC server\n",
    );
    return;
  }
  stream.on("close", streamOnClose);
  calls.set(stream, call);
  if (headers[":path"] !== GET_USER_PATH) {
    // statuscodes.md: "Method not found at server": UNIMPLEMENTED.
    finish(call, Status.UNIMPLEMENTED, `Method not found: ${headers[":path"] ?? ""}`);
    return;
  }
  const timeout = single(headers["grpc-timeout"]);
  if (timeout !== undefined) {
    // "If Timeout is omitted a server should assume an infinite timeout."
    const ms = parseTimeout(timeout);
    call.deadline = startTimer(() => {
      finish(call, Status.DEADLINE_EXCEEDED, "Deadline exceeded");
    }, ms);
  }
  call.deframer = new MessageDeframer({ maxMessageBytes: call.maxMessageBytes });
  stream.on("data", streamOnData);
  stream.on("end", streamOnEnd);
}

/** The call of each open stream, for the stream's named listeners. */
const calls = new WeakMap<http2.ServerHttp2Stream, Call>();

function streamOnData(this: http2.ServerHttp2Stream, chunk: Buffer): void {
  const call = calls.get(this);
  if (call?.state !== "reading" || call.deframer === undefined) return;
  try {
    // DATA frame boundaries have no relation to Length-Prefixed-Message boundaries.
    call.messages.push(...call.deframer.feed(chunk));
  } catch (error) {
    failed(call, error);
  }
}

function streamOnEnd(this: http2.ServerHttp2Stream): void {
  const call = calls.get(this);
  if (call?.state !== "reading" || call.deframer === undefined) return;
  try {
    call.deframer.end();
    getUser(call);
  } catch (error) {
    failed(call, error);
  }
}

/** A stream closed, by us or by the client's RST_STREAM: whatever is still to do is dropped. */
function streamOnClose(this: http2.ServerHttp2Stream): void {
  const call = calls.get(this);
  if (call) stop(call);
}

/**
 * A stream reset mid-call is that call's end, not the server's: it is handled in 'close'. Without
 * this listener, a reset with any code but CANCEL would be an unheard 'error' and end the process.
 * (A session's errors need none here: node:http2's server listens on every session itself and
 * passes their errors on as 'sessionError'.)
 */
function streamOnError(): void {}

/** The request is complete (END_STREAM): one GetUserRequest, looked up after lookupDelayMs. */
function getUser(call: Call): void {
  // statuscodes.md, "Request cardinality violation (method requires exactly one request but
  // client sent some other number of requests)": UNIMPLEMENTED.
  if (call.messages.length !== 1) {
    finish(
      call,
      Status.UNIMPLEMENTED,
      `GetUser takes exactly one request message, and the client sent ${call.messages.length}`,
    );
    return;
  }
  const { compressed, message } = call.messages[0] as LengthPrefixedMessage;
  if (compressed) {
    // "If the Message-Encoding header is omitted then the Compressed-Flag must be 0"; a coding
    // the server does not support is UNIMPLEMENTED (statuscodes.md). This server supports none.
    if (call.encoding === undefined || call.encoding === "identity") {
      finish(call, Status.INTERNAL, "Compressed-Flag 1, but the request has no grpc-encoding");
    } else {
      finish(
        call,
        Status.UNIMPLEMENTED,
        `Message compressed with ${call.encoding}, which this server does not support`,
      );
    }
    return;
  }
  let request;
  try {
    request = decodeMessage(GetUserRequestSpec, message);
  } catch (error) {
    // statuscodes.md, "Error parsing request proto": INTERNAL. Anything else the codec threw is
    // a bug, not the client's bytes.
    if (!(error instanceof ProtobufError)) throw error;
    finish(call, Status.INTERNAL, `Error parsing request proto: ${error.message}`);
    return;
  }
  const id = typeof request.id === "string" ? request.id : "";
  if (id === "") {
    // proto3 leaves an empty string off the wire: no id and id "" are the same request.
    finish(call, Status.INVALID_ARGUMENT, "id is required");
    return;
  }
  if (!IdSchema.safeParse(id).success) {
    finish(call, Status.INVALID_ARGUMENT, `id must be digits, got ${JSON.stringify(id)}`);
    return;
  }
  call.state = "working";
  if (call.lookupDelayMs > 0) {
    call.lookup = startTimer(() => lookUp(call, id), call.lookupDelayMs);
  } else lookUp(call, id);
}

function lookUp(call: Call, id: string): void {
  call.lookup = undefined;
  if (call.state !== "working") return;
  try {
    const user = call.store.getUser(id);
    if (user === undefined) {
      finish(call, Status.NOT_FOUND, `no user ${id}`);
      return;
    }
    const reply = encodeMessage(UserSpec, { id: user.id, name: user.name, email: user.email });
    respondWithMessage(call, frameMessage(reply));
  } catch (error) {
    failed(call, error);
  }
}

/** Response-Headers, one Length-Prefixed-Message, then Trailers with grpc-status 0. */
function respondWithMessage(call: Call, framed: Buffer): void {
  const { stream } = call;
  stop(call);
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  // "Status must be sent in Trailers even if the status code is OK."
  stream.once("wantTrailers", () => {
    stream.sendTrailers({ "grpc-status": String(Status.OK) });
  });
  stream.end(framed);
}

/**
 * The call's end with an error status. Nothing has been sent on a failing call, so it is a
 * Trailers-Only response: one HEADERS frame with END_STREAM.
 */
function finish(call: Call, status: StatusCode, message: string): void {
  const { stream } = call;
  if (call.state === "done") return;
  stop(call);
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(status),
        // Status-Message: UTF-8, percent-encoded (PROTOCOL-HTTP2.md, "Percent-Encoded").
        "grpc-message": encodeGrpcMessage(message),
      },
      { endStream: true },
    );
  } catch (error) {
    // The status itself could not be written (a bug): reset the stream with INTERNAL_ERROR,
    // which a client maps to INTERNAL (PROTOCOL-HTTP2.md, "Errors").
    console.error(error);
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** What a step threw: a framing error has its status; anything else is the handler's bug. */
function failed(call: Call, error: unknown): void {
  if (error instanceof GrpcWireError) {
    finish(call, error.status, error.message);
    return;
  }
  // statuscodes.md: a server application that throws gets UNKNOWN. The bug is logged here; the
  // client learns only that the call failed, in the error's own words.
  console.error(error);
  finish(call, Status.UNKNOWN, error instanceof Error ? error.message : String(error));
}

/** No more work for this call: its timers are cleared, and nothing more is read. */
function stop(call: Call): void {
  call.state = "done";
  clearTimeout(call.deadline);
  clearTimeout(call.lookup);
  call.deadline = undefined;
  call.lookup = undefined;
  // The rest of the request, if any, is read and dropped, so its flow-control window reopens.
  call.stream.resume();
}

function respondHttp(
  call: Call,
  status: number,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): void {
  call.state = "done";
  call.stream.resume();
  call.stream.respond({ ":status": status, ...headers }, { endStream: body === undefined });
  if (body !== undefined) call.stream.end(body);
}

/** A header's value as one string (node:http2 gives an array for a repeated one). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}
