/**
 * Test helpers for Step 3: your createServer() on 127.0.0.1 and a free port, with a grpc-js client
 * of it, both closed when the test ends; and each kind of call as a promise bounded in time, so
 * that a handler that never answers fails with a sentence instead of a bare timeout.
 */
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { onTestFinished } from "vitest";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import {
  createUserClient,
  userProtoPath,
  type User,
  type UserServiceClient,
} from "#reference/lesson-10-grpc/user-proto.ts";
import { closeAfterTest, serveGrpc, statusName, type ServedGrpc } from "#shared/testing/grpc.ts";
import { PATIENCE_MS, within } from "#shared/testing/patience.ts";
import type { CallOutcome, MethodName, ServiceOptions } from "#lesson/lesson-10-grpc/service.ts";
import { createServer } from "#lesson/lesson-10-grpc/server.ts";

export { statusName } from "#shared/testing/grpc.ts";

export interface Started extends ServedGrpc {
  server: grpc.Server;
  client: UserServiceClient;
  store: Store;
  /** Every onCallEnd(method, outcome) the service made, in order. */
  ends: { method: MethodName; outcome: CallOutcome }[];
  /** Resolves once the service has said `method` ended with `outcome`. */
  ended(method: MethodName, outcome: CallOutcome): Promise<void>;
}

/** createServer(options) served on 127.0.0.1:0, with a client; all closed when the test ends. */
export async function startService(options: ServiceOptions = {}): Promise<Started> {
  const store = options.store ?? createStore();
  const ends: Started["ends"] = [];
  const waiters = new Set<() => void>();
  const server = createServer({
    ...options,
    store,
    onCallEnd(method, outcome) {
      ends.push({ method, outcome });
      for (const wake of waiters) wake();
      options.onCallEnd?.(method, outcome);
    },
  });
  const served = await serveGrpc(server);
  const client = closeAfterTest(createUserClient(served.address));
  const has = (method: MethodName, outcome: CallOutcome): boolean =>
    ends.some((end) => end.method === method && end.outcome === outcome);
  return {
    ...served,
    server,
    client,
    store,
    ends,
    ended(method, outcome) {
      if (has(method, outcome)) return Promise.resolve();
      return new Promise((resolve) => {
        const wake = (): void => {
          if (!has(method, outcome)) return;
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
  };
}

/** Metadata with `authorization: <scheme> <token>`. */
export function withToken(token = "demo-token", scheme = "Bearer"): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `${scheme} ${token}`);
  return metadata;
}

export interface Outcome<T> {
  error: grpc.ServiceError | null;
  value: T | undefined;
}

/**
 * A unary or client-streaming call, to its end: `start` makes the call with the callback it is
 * given. A stub the handler reached fails the test with the stub's own message.
 */
export async function ended<T>(
  served: Pick<ServedGrpc, "failed">,
  what: string,
  start: (callback: grpc.requestCallback<T>) => void,
): Promise<Outcome<T>> {
  const outcome = new Promise<Outcome<T>>((resolve) => {
    start((error, value) => resolve({ error, value }));
  });
  return within(
    Promise.race([outcome, served.failed]),
    `the end of ${what}. A handler ends every call exactly once: a unary handler by calling its callback, with the reply or with an error status ({ code, details }), on every path, errors included`,
  );
}

/** The reply of a call that must succeed; its status otherwise, as the failure. */
export function replyOf<T>(outcome: Outcome<T>, what: string): T {
  if (outcome.error) {
    throw new Error(
      `${what} should succeed, but ended with status ${statusName(outcome.error.code)}: ${JSON.stringify(outcome.error.details)}`,
    );
  }
  return outcome.value as T;
}

/** The status of a call that must fail; a failure that says so if it succeeded. */
export function statusOf(outcome: Outcome<unknown>, what: string): grpc.ServiceError {
  if (!outcome.error) {
    throw new Error(
      `${what} should fail with a status, but it succeeded with ${JSON.stringify(outcome.value)}`,
    );
  }
  return outcome.error;
}

/**
 * A client stream whose failure is read from its status: an "error" event with no listener
 * would be an uncaught exception, apart from the test that made the call.
 */
export function quiet<S extends NodeJS.EventEmitter>(stream: S): S {
  stream.on("error", () => {});
  return stream;
}

/** Everything a server-streaming call delivers, and its final status. */
export async function collect<T>(
  served: Pick<ServedGrpc, "failed">,
  what: string,
  stream: grpc.ClientReadableStream<T>,
  ms?: number,
): Promise<{ messages: T[]; status: grpc.StatusObject }> {
  const messages: T[] = [];
  const ids = new Set<string>();
  const done = new Promise<{ messages: T[]; status: grpc.StatusObject }>((resolve, reject) => {
    stream.on("data", (message: T) => {
      messages.push(message);
      // A user who comes twice means the stream runs on, the same page again: stop reading.
      const id = (message as { id?: unknown }).id;
      if (typeof id !== "string") return;
      if (ids.has(id)) {
        stream.cancel();
        reject(new Error(twice(id, what, messages.length)));
      }
      ids.add(id);
    });
    stream.on("error", () => {}); // the status says it all
    stream.on("status", (status: grpc.StatusObject) => resolve({ messages, status }));
  });
  return within(
    Promise.race([done, served.failed]),
    () =>
      `Nothing after the ${messages.length} message(s) of ${what}: expected the stream to end with a status (call.end() for OK, or an error)`,
    ms,
  );
}

/** What to say of a stream of users in which one came twice. */
function twice(id: string, what: string, count: number): string {
  return `user ${id} came twice in ${what}, as message ${count}: does the page's cursor move on? Each page is the users after the last id of the page before (store.listUsers({ after, limit })), so every user comes once and the stream ends`;
}

/**
 * The largest `limit` asked of store.listUsers from now until the test ends: how much of the
 * store one query can hold in memory at once.
 */
export function largestPage(store: Store): { readonly largest: number } {
  const original = store.listUsers;
  const seen = { largest: 0 };
  store.listUsers = (page) => {
    seen.largest = Math.max(seen.largest, page.limit);
    return original.call(store, page);
  };
  onTestFinished(() => {
    store.listUsers = original;
  });
  return seen;
}

let large: Store | undefined;

/**
 * A store with 10,000 more users than the course's 40 (ids 141 to 10140), made by createUser. It
 * takes a second to make (each createUser checks every email), so a test file makes it once and
 * its tests share it: they only read it. Its query log starts empty for each caller.
 */
export function largeStore(): Store {
  if (large === undefined) {
    large = createStore();
    for (let i = 0; i < 10_000; i++) {
      large.createUser({ name: `User ${i}`, email: `user.${i}@example.com` });
    }
  }
  large.resetQueries();
  return large;
}

/**
 * A ListUsers call made with node:http2's client, as Step 2 makes calls by hand: POST
 * /users.v1.UserService/ListUsers with one length-prefixed ListUsersRequest. Unlike grpc-js's
 * client, which keeps reading whatever arrives, a paused node:http2 stream stops sending
 * WINDOW_UPDATE, so HTTP/2's flow control (RFC 9113 §5.2) holds the server back once the stream's
 * window is used up: the client that does not read, exactly.
 */
export interface RawListUsers {
  stream: http2.ClientHttp2Stream;
  /** Resolves once the stream's flow-control window is used up: the server cannot send more. */
  windowUsedUp(): Promise<void>;
  /** Resumes reading, and resolves with every user and the trailers once the stream ends. */
  readAll(ms?: number): Promise<{ users: User[]; trailers: http2.IncomingHttpHeaders }>;
}

export function rawListUsers(s: Pick<ServedGrpc, "address" | "failed">, limit = 0): RawListUsers {
  const session = http2.connect(`http://${s.address}`);
  session.on("error", () => {}); // a forced shutdown resets it; the test reads the stream's end
  onTestFinished(() => {
    session.destroy();
  });
  const stream = session.request({
    ":method": "POST",
    ":path": "/users.v1.UserService/ListUsers",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.pause();
  const body = ListUsersRequestType.encode({ limit }).finish();
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  stream.end(Buffer.concat([prefix, body]));
  let trailers: http2.IncomingHttpHeaders = {};
  stream.on("trailers", (headers) => (trailers = headers));
  return {
    stream,
    windowUsedUp: () =>
      within(
        Promise.race([until(() => stream.state.localWindowSize === 0), s.failed]),
        () =>
          `the stream's flow-control window to be used up by the server's messages (a 10,040-user stream is far more than its 65,535 bytes); it has ${stream.state.localWindowSize} bytes left`,
      ),
    readAll(ms) {
      const chunks: Buffer[] = [];
      const users: User[] = [];
      const ids = new Set<string>();
      let pending: Buffer = Buffer.alloc(0);
      const done = new Promise<void>((resolve, reject) => {
        stream.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          pending = Buffer.concat([pending, chunk]);
          const { whole, rest } = decodeUsers(pending);
          pending = rest;
          for (const user of whole) {
            users.push(user);
            // A user who comes twice means the stream runs on, the same page again: stop reading.
            if (ids.has(user.id)) {
              stream.close(http2.constants.NGHTTP2_CANCEL);
              reject(new Error(twice(user.id, "ListUsers", users.length)));
            }
            ids.add(user.id);
          }
        });
        stream.on("close", () => resolve());
      });
      stream.resume();
      return within(
        Promise.race([done, s.failed]),
        () =>
          `Nothing after ${ms ?? PATIENCE_MS} ms of reading. Expected the ListUsers stream to end with its trailers (grpc-status), once every user was sent; ${users.length} user(s) in ${chunks.length} chunk(s) came, and no trailers.`,
        ms,
      ).then(() => ({ users, trailers }));
    },
  };
}

const userProto = protobuf.loadSync(userProtoPath());
const UserType = userProto.lookupType("users.v1.User");
const ListUsersRequestType = userProto.lookupType("users.v1.ListUsersRequest");

/**
 * The whole User messages at the start of a gRPC response body, each a 5-byte prefix (flag,
 * length) and its bytes, and the bytes of the one not yet whole.
 */
function decodeUsers(body: Buffer): { whole: User[]; rest: Buffer } {
  const whole: User[] = [];
  let offset = 0;
  while (offset + 5 <= body.length && offset + 5 + body.readUInt32BE(offset + 1) <= body.length) {
    const length = body.readUInt32BE(offset + 1);
    const message = body.subarray(offset + 5, offset + 5 + length);
    whole.push(UserType.toObject(UserType.decode(message), { defaults: true }) as User);
    offset += 5 + length;
  }
  return { whole, rest: body.subarray(offset) };
}

/** Resolves once `condition()` holds, checking after each turn of the event loop. */
function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (condition()) resolve();
      else setTimeout(check, 5);
    };
    check();
  });
}
