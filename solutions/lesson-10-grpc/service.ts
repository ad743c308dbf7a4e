/**
 * The UserService of user.proto on grpc-js: lesson 08's users, served as the four kinds of call.
 *
 *   GetUser      unary             one request, one reply (or one status)
 *   ListUsers    server streaming  one request, a User message per user, written no faster than
 *                                  the client reads
 *   CreateUser   unary             needs a token
 *   ImportUsers  client streaming  needs a token; many requests, one summary when the client ends
 *   Chat         bidirectional     needs a token; every message goes to every open Chat call
 *
 * grpc-js does the HTTP/2 and the framing of Step 2: a handler sees decoded messages, and ends a
 * call with a reply or a status (`{ code, details }`, which becomes `grpc-status` and
 * `grpc-message` in the trailers). Every call ends exactly once: with its reply, with a status, or
 * because the client went away (it cancelled, or its deadline passed), which grpc-js tells the
 * handler with the call's "cancelled" event. After that, nobody reads what the handler writes:
 * it stops its work. grpc-js emits "cancelled" once every call is over, one it answered too: a
 * handler that has ended its call already takes it as nothing new.
 */
import * as grpc from "@grpc/grpc-js";
import { createStore, StoreError, type Store } from "#reference/lesson-08-rest/store.ts";
import { IdSchema, UserInputSchema } from "#reference/lesson-08-rest/schemas.ts";
import type {
  ChatMessage,
  CreateUserRequest,
  GetUserRequest,
  ImportFailure,
  ImportUsersReply,
  ListUsersRequest,
  User,
} from "./user-proto.ts";
import { unwrittenFailsTheCall } from "#shared/grpc-todo.ts";

/** Who each token belongs to: `authorization: Bearer demo-token` is the user "demo". */
export const DEFAULT_TOKENS: Readonly<Record<string, string>> = { "demo-token": "demo" };

export type MethodName = "GetUser" | "ListUsers" | "CreateUser" | "ImportUsers" | "Chat";

/**
 * How a call ended, as its handler saw it: "ok" once it sent its reply (or ended its stream),
 * "failed" once it sent an error status, "cancelled" once it stopped because the client went
 * away (a cancel, or a deadline that passed).
 */
export type CallOutcome = "ok" | "failed" | "cancelled";

export interface ServiceOptions {
  /** The data; default a fresh store with the course's data set. */
  store?: Store;
  /** Token -> who; default DEFAULT_TOKENS. */
  tokens?: Readonly<Record<string, string>>;
  /**
   * Called once for every call, when its handler has stopped working on it, with how it ended.
   * A test (or a log) sees from it that a cancelled call's work has really stopped.
   */
  onCallEnd?: (method: MethodName, outcome: CallOutcome) => void;
}

/** The handlers `server.addService(UserService.service, ...)` takes, by the proto's method names. */
export interface UserServiceHandlers extends grpc.UntypedServiceImplementation {
  GetUser: grpc.handleUnaryCall<GetUserRequest, User>;
  ListUsers: grpc.handleServerStreamingCall<ListUsersRequest, User>;
  CreateUser: grpc.handleUnaryCall<CreateUserRequest, User>;
  ImportUsers: grpc.handleClientStreamingCall<CreateUserRequest, ImportUsersReply>;
  Chat: grpc.handleBidiStreamingCall<ChatMessage, ChatMessage>;
}

/** What the handlers of one service share. */
interface Service {
  store: Store;
  tokens: Readonly<Record<string, string>>;
  /** The Chat calls open now: a message goes to each of them. */
  room: Set<grpc.ServerDuplexStream<ChatMessage, ChatMessage>>;
  ended: (method: MethodName, outcome: CallOutcome) => void;
}

/** How many users ListUsers reads from the store at a time. */
const PAGE_SIZE = 100;

/** One UserService: its own chat room, over the store of `options`. */
export function createUserService(options: ServiceOptions = {}): UserServiceHandlers {
  const service: Service = {
    store: options.store ?? createStore(),
    tokens: options.tokens ?? DEFAULT_TOKENS,
    room: new Set(),
    ended: (method, outcome) => options.onCallEnd?.(method, outcome),
  };
  return {
    GetUser: unwrittenFailsTheCall((call, callback) => getUser(service, call, callback)),
    ListUsers: unwrittenFailsTheCall((call) => listUsers(service, call)),
    CreateUser: unwrittenFailsTheCall((call, callback) => createUser(service, call, callback)),
    ImportUsers: unwrittenFailsTheCall((call, callback) => importUsers(service, call, callback)),
    Chat: unwrittenFailsTheCall((call) => chat(service, call)),
  };
}

/** A status to end a call with: the code, and a message for a person (it travels as grpc-message). */
function failure(code: grpc.status, message: string): grpc.ServerErrorResponse {
  return Object.assign(new Error(message), { code, details: message });
}

/**
 * Who the call's token belongs to, or undefined. The metadata entry is
 * `authorization: Bearer <token>` (RFC 6750 §2.1). Its scheme is case-insensitive, as every HTTP
 * authentication scheme is (RFC 9110 §11.1): "bearer" and "BEARER" are "Bearer".
 */
function callerOf(service: Service, metadata: grpc.Metadata): string | undefined {
  // grpc-js lowercases metadata keys, as HTTP/2 requires of field names (RFC 9113 §8.2.1).
  const [value] = metadata.get("authorization");
  if (typeof value !== "string") return undefined;
  const match = /^Bearer +([^\s]+) *$/i.exec(value);
  const token = match?.[1];
  // The token comes from the wire: look it up as a key of the table itself, never its prototype.
  if (token === undefined || !Object.hasOwn(service.tokens, token)) return undefined;
  return service.tokens[token];
}

function unauthenticated(): grpc.ServerErrorResponse {
  return failure(
    grpc.status.UNAUTHENTICATED,
    "this call needs a token: send the metadata authorization: Bearer <token>",
  );
}

/** The first problem zod found, as "field: what is wrong", for the status message. */
function problemOf(error: { issues: readonly { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid input";
  // The input is always an object, so a problem is always with one of its fields.
  return `${issue.path.map(String).join(".")}: ${issue.message}`;
}

function getUser(
  service: Service,
  call: grpc.ServerUnaryCall<GetUserRequest, User>,
  callback: grpc.sendUnaryData<User>,
): void {
  const { id } = call.request;
  // INVALID_ARGUMENT: the request itself is wrong, whatever the store holds. NOT_FOUND: a good
  // request for something that is not there (gRPC's "Status codes and their use in gRPC").
  if (!IdSchema.safeParse(id).success) {
    callback(failure(grpc.status.INVALID_ARGUMENT, `id ${JSON.stringify(id)}: an id is digits`));
    service.ended("GetUser", "failed");
    return;
  }
  const user = service.store.getUser(id);
  if (user === undefined) {
    callback(failure(grpc.status.NOT_FOUND, `No user ${JSON.stringify(id)}`));
    service.ended("GetUser", "failed");
    return;
  }
  callback(null, user);
  service.ended("GetUser", "ok");
}

/**
 * Users in id order, read from the store a page at a time and written one message each. write()
 * returns false once the call's buffer is full (the client reads slower than the server writes,
 * and HTTP/2's flow control holds the rest back): then the next user waits for "drain". A client
 * that never reads costs the server a page and a full buffer, not the whole store.
 */
function listUsers(
  service: Service,
  call: grpc.ServerWritableStream<ListUsersRequest, User>,
): void {
  streamUsers(service, call).then(
    (outcome) => service.ended("ListUsers", outcome),
    (error: unknown) => {
      call.emit("error", failure(grpc.status.INTERNAL, `ListUsers failed: ${String(error)}`));
      service.ended("ListUsers", "failed");
    },
  );
}

async function streamUsers(
  service: Service,
  call: grpc.ServerWritableStream<ListUsersRequest, User>,
): Promise<CallOutcome> {
  const limit = call.request.limit === 0 ? Infinity : call.request.limit;
  let sent = 0;
  let after: string | undefined;
  while (sent < limit) {
    const page = service.store.listUsers({ after, limit: Math.min(PAGE_SIZE, limit - sent) });
    for (const user of page) {
      if (call.cancelled) return "cancelled";
      if (!call.write(user) && !(await drained(call))) return "cancelled";
      sent++;
    }
    const last = page.at(-1);
    if (last === undefined) break;
    after = last.id;
  }
  call.end();
  return "ok";
}

/** Resolves true on "drain", false when the call is cancelled (or closed) first. */
function drained(call: grpc.ServerWritableStream<ListUsersRequest, User>): Promise<boolean> {
  if (call.cancelled || call.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (value: boolean) => () => {
      call.off("drain", onDrain);
      call.off("cancelled", onGone);
      call.off("close", onGone);
      resolve(value);
    };
    const onDrain = settle(true);
    const onGone = settle(false);
    call.on("drain", onDrain);
    call.on("cancelled", onGone);
    call.on("close", onGone);
  });
}

type CreateOutcome = { user: User } | { code: grpc.status; message: string };

/** One CreateUserRequest, validated and written: what CreateUser and ImportUsers share. */
function create(store: Store, request: CreateUserRequest): CreateOutcome {
  const parsed = UserInputSchema.safeParse({ name: request.name, email: request.email });
  if (!parsed.success) {
    return { code: grpc.status.INVALID_ARGUMENT, message: problemOf(parsed.error) };
  }
  try {
    return { user: store.createUser(parsed.data) };
  } catch (error) {
    if (error instanceof StoreError && error.code === "STORE_EMAIL_TAKEN") {
      return { code: grpc.status.ALREADY_EXISTS, message: error.message };
    }
    throw error;
  }
}

function createUser(
  service: Service,
  call: grpc.ServerUnaryCall<CreateUserRequest, User>,
  callback: grpc.sendUnaryData<User>,
): void {
  if (callerOf(service, call.metadata) === undefined) {
    callback(unauthenticated());
    service.ended("CreateUser", "failed");
    return;
  }
  const outcome = create(service.store, call.request);
  if ("user" in outcome) {
    callback(null, outcome.user);
    service.ended("CreateUser", "ok");
  } else {
    callback(failure(outcome.code, outcome.message));
    service.ended("CreateUser", "failed");
  }
}

/**
 * Client streaming: the requests come one by one, and the one reply waits for the end of the
 * client's stream (its half-close, END_STREAM on HTTP/2). A refused request does not end the call:
 * it goes in the summary with its index, and the next one is read.
 */
function importUsers(
  service: Service,
  call: grpc.ServerReadableStream<CreateUserRequest, ImportUsersReply>,
  callback: grpc.sendUnaryData<ImportUsersReply>,
): void {
  if (callerOf(service, call.metadata) === undefined) {
    callback(unauthenticated());
    service.ended("ImportUsers", "failed");
    return;
  }
  // One named state for the call: its summary is sent once, or it was cancelled, never both.
  let state: "reading" | "ending" | "replied" | "cancelled" = "reading";
  let index = 0;
  let created = 0;
  const failures: ImportFailure[] = [];
  call.on("data", (request: CreateUserRequest) => {
    const outcome = create(service.store, request);
    if ("user" in outcome) created++;
    else failures.push({ index, code: outcome.code, message: outcome.message });
    index++;
  });
  // "end" is the end of the request stream, and grpc-js emits it for a cancel too: RST_STREAM
  // ends the stream's readable side first, and "cancelled" follows a few ticks later, with
  // call.cancelled still false at "end". So the summary waits one turn of the event loop: by
  // then a cancel has been told, and a call the client cancelled gets no reply.
  call.on("end", () => {
    if (state !== "reading") return;
    state = "ending";
    setImmediate(() => {
      if (state !== "ending") return;
      state = "replied";
      callback(null, { created, failures });
      service.ended("ImportUsers", "ok");
    });
  });
  // grpc-js also emits "cancelled" once a call it has answered is over: after "replied", it
  // says nothing new.
  call.on("cancelled", () => {
    if (state === "replied" || state === "cancelled") return;
    state = "cancelled";
    service.ended("ImportUsers", "cancelled");
  });
}

/**
 * Bidirectional streaming: both sides send when they like. Each message a member sends goes to
 * every open Chat call, the sender's own included, signed with who the sender's token says. A
 * member whose client ends its side, or goes away, leaves the room: nothing more is written to it.
 *
 * A room cannot wait for its slowest member, so a write here does not wait for "drain": grpc-js
 * buffers what a slow member has not read yet.
 */
function chat(service: Service, call: grpc.ServerDuplexStream<ChatMessage, ChatMessage>): void {
  const from = callerOf(service, call.metadata);
  if (from === undefined) {
    call.emit("error", unauthenticated());
    service.ended("Chat", "failed");
    return;
  }
  // One named state for the member: in the room, gone from it and about to end, or done.
  let state: "open" | "ending" | "ended" | "cancelled" = "open";
  service.room.add(call);
  call.on("data", (message: ChatMessage) => {
    const signed: ChatMessage = { from, text: message.text };
    for (const member of service.room) member.write(signed);
  });
  // The client ended its side (half-close): it leaves the room, and the server ends its own side,
  // which ends the call with OK. A cancel ends the readable side too, before "cancelled" comes
  // (see importUsers), so the end waits one turn: a cancelled member is not ended with OK.
  call.on("end", () => {
    if (state !== "open") return;
    state = "ending";
    service.room.delete(call);
    setImmediate(() => {
      if (state !== "ending") return;
      state = "ended";
      call.end();
      service.ended("Chat", "ok");
    });
  });
  // Also emitted once a call that ended with OK is over: then there is nothing left to do.
  call.on("cancelled", () => {
    if (state === "ended" || state === "cancelled") return;
    state = "cancelled";
    service.room.delete(call);
    service.ended("Chat", "cancelled");
  });
}
