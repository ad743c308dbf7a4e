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
 *
 * Given: the path, the options and the call's states. The codec is yours from Step 1.
 */
import http2 from "node:http2";
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
import { decodeMessage, encodeMessage } from "./protobuf.ts";
import { todo } from "#shared/todo.ts";

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

/** An unstarted HTTP/2 server (cleartext, "h2c", as gRPC without TLS is) answering GetUser. */
export function createHandServer(options: HandServerOptions = {}): http2.Http2Server {
  // TODO: an http2.createServer() whose streams are gRPC calls (PROTOCOL-HTTP2.md):
  //   - "Request-Headers": a POST; a content-type that is not application/grpc (or
  //     application/grpc+proto) is HTTP 415; a :path other than GET_USER_PATH is UNIMPLEMENTED;
  //     a grpc-timeout (parseTimeout) starts the deadline, DEADLINE_EXCEEDED when it passes.
  //     node:http2 types each header as string | string[] | undefined (an array when the header
  //     came more than once): make it one string before you parse it.
  //   - the DATA frames through a MessageDeframer; at END_STREAM exactly one message ("Request
  //     cardinality violation" is UNIMPLEMENTED, statuscodes.md), Compressed-Flag 0 ("If the
  //     Message-Encoding header is omitted then the Compressed-Flag must be 0": INTERNAL; an
  //     encoding this server lacks: UNIMPLEMENTED), decoded as a GetUserRequest with Step 1's
  //     decodeMessage ("Error parsing request proto": INTERNAL).
  //   - an empty id or one that is not digits (IdSchema) is INVALID_ARGUMENT; after
  //     options.lookupDelayMs, the store's user (store.getUser(id): the User, or undefined), or
  //     NOT_FOUND "no user <id>".
  //   - a User: HEADERS :status 200 and content-type, one Length-Prefixed-Message (frameMessage
  //     of encodeMessage(UserSpec, ...)), then Trailers with grpc-status 0 (respond with
  //     waitForTrailers, sendTrailers on 'wantTrailers').
  //   - an error: "Trailers-Only": one HEADERS frame with :status 200, content-type, grpc-status
  //     and grpc-message (encodeGrpcMessage), and END_STREAM.
  // A call that ends (answered, past its deadline, or reset by the client: the stream's 'close')
  // stops its timers, so abandoned work never reaches the store. Every stream gets an 'error'
  // listener: a client's reset with a code other than CANCEL is an 'error' on the server's stream,
  // and one nobody listens to ends the process. (node:http2's server listens on its sessions.)
  return todo("lesson-10-grpc", "createHandServer()", "Step 2");
}
