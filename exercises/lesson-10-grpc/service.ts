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
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import type {
  ChatMessage,
  CreateUserRequest,
  GetUserRequest,
  ImportUsersReply,
  ListUsersRequest,
  User,
} from "./user-proto.ts";
import { unwrittenFailsTheCall } from "#shared/grpc-todo.ts";
import { todo } from "#shared/todo.ts";

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

/**
 * One UserService: its own chat room, over the store of `options`. Given: it shares one Service
 * record between the five handlers below, which are yours.
 */
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

// The lesson's zod schemas check what a client sends: IdSchema for an id, UserInputSchema for a
// new user (`#reference/lesson-08-rest/schemas.ts`), as in lessons 08 and 09. A status is
// `{ code: grpc.status.NOT_FOUND, details: "No user \"999\"" }`: the code and its message, which
// grpc-js sends as grpc-status and grpc-message in the trailers. Whatever a handler does, it ends
// the call exactly once and says how with service.ended(method, outcome).

function getUser(
  service: Service,
  call: grpc.ServerUnaryCall<GetUserRequest, User>,
  callback: grpc.sendUnaryData<User>,
): void {
  // TODO: Answer with the store's user of call.request.id. An id that is empty or not digits is
  // INVALID_ARGUMENT (the request is wrong, whatever the store holds); an id the store does not
  // have is NOT_FOUND (gRPC's "Status codes and their use in gRPC"). Each with a message that
  // names the id.
  // TODO: Every path calls the callback once: with the user, or with the status. A handler that
  // forgets leaves its client waiting until its deadline.
  return todo("lesson-10-grpc", "GetUser()", "Step 3");
}

function listUsers(
  service: Service,
  call: grpc.ServerWritableStream<ListUsersRequest, User>,
): void {
  // TODO: Users in id order, one message each, at most call.request.limit of them (0: all), then
  // end the stream (the status OK goes in the trailers). Read the store a page at a time
  // (store.listUsers({ after, limit }), a limit of at most 1,000), never the whole store in one
  // query: what the server holds for one call stays bounded, however many users there are.
  // TODO: Honour backpressure: write() returns false when the call's buffer is full (HTTP/2 flow
  // control, RFC 9113 §5.2, holds back what the client has not read). Then write nothing more
  // until "drain".
  // TODO: A call can be cancelled while it waits (the client cancels, its deadline passes):
  // grpc-js emits "cancelled" and sets call.cancelled. Stop there: no more writes, no more store
  // reads, no wait left hanging for a "drain" that will never come: the wait ends, its "drain"
  // listener comes off, and the loop returns; report the outcome then, once the work has really
  // stopped. (grpc-js emits "cancelled" after a stream that ended with OK too: by then the call
  // is over, and reported once.)
  // TODO: A store that throws ends the call with INTERNAL (call.emit("error", status) on a stream),
  // not with an unhandled rejection.
  return todo("lesson-10-grpc", "ListUsers()", "Step 3");
}

function createUser(
  service: Service,
  call: grpc.ServerUnaryCall<CreateUserRequest, User>,
  callback: grpc.sendUnaryData<User>,
): void {
  // TODO: Only for a caller with a token: metadata `authorization: Bearer <token>` (RFC 6750
  // §2.1), the token one of service.tokens. The scheme is case-insensitive (RFC 9110 §11.1).
  // Without one, UNAUTHENTICATED.
  // TODO: Input the lesson's UserInputSchema refuses is INVALID_ARGUMENT, its message naming the
  // field and the problem ("name: a name is not empty"); an email the store says is taken
  // (StoreError STORE_EMAIL_TAKEN) is ALREADY_EXISTS. Otherwise reply with the user created.
  return todo("lesson-10-grpc", "CreateUser()", "Step 3");
}

function importUsers(
  service: Service,
  call: grpc.ServerReadableStream<CreateUserRequest, ImportUsersReply>,
  callback: grpc.sendUnaryData<ImportUsersReply>,
): void {
  // TODO: The same token rule as CreateUser.
  // TODO: Client streaming: each request is created as CreateUser would, and a refused one goes in
  // the summary's failures with its index in the stream (from 0), the code CreateUser would have
  // answered and the message. The one reply, { created, failures }, waits for the end of the
  // client's stream (its half-close).
  // TODO: A call cancelled before it ends gets no reply, and is reported "cancelled". Mind the
  // order grpc-js tells it in: a cancel (RST_STREAM) ends the request stream too, so "end" comes
  // first, with call.cancelled still false, and "cancelled" a few ticks later. Decide on the reply
  // a turn after "end" (setImmediate), with one named state for the call.
  // TODO: grpc-js also emits "cancelled" once a call it has answered is over: the call has ended
  // already, and is reported once.
  return todo("lesson-10-grpc", "ImportUsers()", "Step 3");
}

function chat(service: Service, call: grpc.ServerDuplexStream<ChatMessage, ChatMessage>): void {
  // TODO: The same token rule; a call without one ends with UNAUTHENTICATED.
  // TODO: Bidirectional streaming: every message a member sends goes to every open Chat call
  // (service.room), the sender's included, with `from` set by the server to who the sender's token
  // belongs to, whatever the client put there.
  // TODO: A member whose client ends its side leaves the room, and the server ends its side too
  // (status OK); a cancelled member leaves the room. Nothing is written to a call that has left.
  // TODO: As for ImportUsers, a cancel brings "end" before "cancelled": a member that is leaving
  // is ended with OK only a turn after "end", if no cancel came. One outcome per call.
  return todo("lesson-10-grpc", "Chat()", "Step 3");
}
