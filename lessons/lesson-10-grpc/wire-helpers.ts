/**
 * Test helpers for Step 2: your hand server on 127.0.0.1:0 until the test ends, one call made with
 * node:http2's client frame by frame (what came back kept as it came: the response HEADERS and
 * whether they ended the stream, the DATA bytes, the trailers), and the official grpc-js client
 * loaded from user.proto.
 */
import http2 from "node:http2";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { onTestFinished } from "vitest";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { createHandServer, type HandServerOptions } from "#lesson/lesson-10-grpc/hand-server.ts";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { isNotWritten, loggedStub, watchServerLog } from "../../shared/testing/server-log.ts";

export const GET_USER = "/users.v1.UserService/GetUser";
export const PROTO_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "protos/user.proto",
);

export interface StartedHand {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as grpc-js takes it */
  target: string;
  store: Store;
  server: http2.Http2Server;
}

/** createHandServer on a fresh store (unless given), listening until the test ends. */
export async function startHand(options: HandServerOptions = {}): Promise<StartedHand> {
  watchServerLog();
  const store = options.store ?? createStore();
  const server = createHandServer({ ...options, store });
  const { host, port } = await listen(server);
  return { url: `http://${host}:${port}`, target: `${host}:${port}`, store, server };
}

/** A 5-byte Length-Prefixed-Message prefix and the message, written out by hand. */
export function lpm(message: Uint8Array, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** GetUserRequest { id } as protobuf's bytes, written out: field 1, wire type 2, length, UTF-8. */
export function getUserRequest(id: string): Buffer {
  const bytes = Buffer.from(id, "utf8");
  return id === "" ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

export interface RawReply {
  /** The response HEADERS. */
  headers: http2.IncomingHttpHeaders;
  /** Whether those HEADERS carried END_STREAM: a Trailers-Only response. */
  trailersOnly: boolean;
  /** Every DATA byte, in order. */
  data: Buffer;
  /** The trailers (a second HEADERS frame), if any came. */
  trailers: http2.IncomingHttpHeaders | undefined;
  /** The stream's end as node:http2 saw it: its RST_STREAM code (0 for a clean end). */
  rstCode: number;
  /** The call and what came back, in a few lines, for a failure message. */
  shown: string;
}

export interface RawCall {
  path?: string;
  /** Request headers over the gRPC defaults (POST, content-type application/grpc, te trailers). */
  headers?: http2.OutgoingHttpHeaders;
  /** The request's body, one write (so one DATA frame or more) per chunk; END_STREAM after. */
  chunks?: Uint8Array[];
  /** A session to make the call on, to show that one connection carries many calls. */
  session?: http2.ClientHttp2Session;
}

/** A session to `url`, closed when the test ends. */
export function openSession(url: string): http2.ClientHttp2Session {
  const session = http2.connect(url);
  session.on("error", () => {}); // a test that needs the error reads it from the call
  onTestFinished(() => {
    session.destroy();
  });
  return session;
}

/**
 * One call with node:http2's client: the request's HEADERS, each chunk written and flushed before
 * the next one (each its own DATA frame), END_STREAM, then everything until the stream closes.
 */
export async function rawCall(url: string, call: RawCall = {}): Promise<RawReply> {
  const session = call.session ?? openSession(url);
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": call.path ?? GET_USER,
    "content-type": "application/grpc",
    te: "trailers",
    ...call.headers,
  };
  const chunks = call.chunks ?? [lpm(getUserRequest("123"))];
  const sent = `${String(headers[":method"])} ${String(headers[":path"])} ${JSON.stringify(
    Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(":"))),
  )} body ${chunks.map((c) => Buffer.from(c).toString("hex")).join(" | ")}`;
  const request = session.request(headers, { endStream: false });
  request.on("error", () => {}); // a reset is seen as the stream's rstCode
  const reply: Omit<RawReply, "shown" | "rstCode"> & { rstCode?: number } = {
    headers: {},
    trailersOnly: false,
    data: Buffer.alloc(0),
    trailers: undefined,
  };
  const parts: Buffer[] = [];
  request.on("response", (responseHeaders, flags) => {
    reply.headers = responseHeaders;
    reply.trailersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
  });
  request.on("data", (chunk: Buffer) => parts.push(chunk));
  request.on("trailers", (trailers) => {
    reply.trailers = trailers;
  });
  const closed = new Promise<void>((resolve) => request.once("close", () => resolve()));
  const describe = (): string =>
    [
      `  sent:     ${sent}`,
      `  headers:  ${JSON.stringify(reply.headers)}${reply.trailersOnly ? " END_STREAM" : ""}`,
      `  data:     ${Buffer.concat(parts).toString("hex") || "(none)"}`,
      `  trailers: ${JSON.stringify(reply.trailers ?? null)}`,
    ].join("\n");
  const written = (async () => {
    for (const chunk of chunks) {
      await new Promise<void>((resolve) => request.write(chunk, () => resolve()));
    }
    request.end();
  })();
  await within(Promise.all([closed, written]), () => {
    rethrowLoggedStub();
    return `Nothing after 1500 ms: expected the call to end (trailers with END_STREAM)\n${describe()}`;
  });
  rethrowLoggedStub();
  reply.data = Buffer.concat(parts);
  rethrowLoggedStub(statusOf({ ...reply, rstCode: 0, shown: "" }).message);
  return { ...reply, rstCode: request.rstCode ?? 0, shown: describe() };
}

/** The status a reply ended with: from the trailers, or from a Trailers-Only HEADERS. */
export function statusOf(reply: RawReply): {
  status: string | undefined;
  message: string | undefined;
} {
  const from = reply.trailersOnly ? reply.headers : (reply.trailers ?? {});
  return {
    status: from["grpc-status"] as string | undefined,
    message: from["grpc-message"] as string | undefined,
  };
}

/**
 * within(), but a stub the server reached (and logged) fails the wait at once with its own
 * message, rather than as a silence.
 */
export function waitFor<T>(promise: Promise<T>, expected: string): Promise<T> {
  return within(promise, () => {
    rethrowLoggedStub();
    return `Nothing after 1500 ms. Expected ${expected}`;
  });
}

/** A stub the server reached (and logged): fail with its own message. */
export function rethrowLoggedStub(details?: string): void {
  const stub = loggedStub();
  if (stub !== undefined) throw stub;
  if (details?.includes("is not written yet")) throw new Error(details);
}

/** users.v1.UserService's client class, as grpc-js makes it from user.proto. */
export function userServiceClient(): typeof grpc.Client {
  const definition = protoLoader.loadSync(PROTO_FILE, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    users: { v1: { UserService: typeof grpc.Client } };
  };
  return loaded.users.v1.UserService;
}

export interface UserReply {
  id: string;
  name: string;
  email: string;
}

/** One GetUser on a grpc-js UserService client: the user, or grpc-js's ServiceError. */
export function getUserOn(
  client: grpc.Client,
  id: string,
  options: grpc.CallOptions = {},
): Promise<UserReply> {
  const { getUser } = client as unknown as {
    getUser(
      this: grpc.Client,
      request: { id: string },
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, user?: UserReply) => void,
    ): void;
  };
  return new Promise<UserReply>((resolve, reject) => {
    getUser.call(client, { id }, options, (error, user) => {
      if (error) reject(error);
      else resolve(user as UserReply);
    });
  });
}

/**
 * GetUser through the official grpc-js client, its insecure channel closed when the test ends.
 * Resolves with the user or rejects with grpc-js's ServiceError (code, details).
 */
export async function grpcJsGetUser(
  target: string,
  id: string,
  options: { deadlineMs?: number } = {},
): Promise<UserReply> {
  const UserService = userServiceClient();
  const client = new UserService(target, grpc.credentials.createInsecure());
  onTestFinished(() => client.close());
  const callOptions: grpc.CallOptions =
    options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  const result = getUserOn(client, id, callOptions);
  return within(result, () => {
    rethrowLoggedStub();
    return `Nothing after 1500 ms: expected grpc-js's GetUser({ id: ${JSON.stringify(id)} }) to end`;
  }).catch((error: unknown) => {
    rethrowLoggedStub((error as grpc.ServiceError).details);
    throw error;
  });
}

export { isNotWritten, show };
