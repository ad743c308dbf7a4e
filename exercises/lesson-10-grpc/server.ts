/**
 * The server you ship: one grpc-js Server with three services on it.
 *
 *   users.v1.UserService                  the handlers of service.ts (user.proto)
 *   grpc.health.v1.Health                 the standard health service: SERVING for "" (the
 *                                         server as a whole) and for users.v1.UserService
 *   grpc.reflection.v1.ServerReflection   server reflection (and its v1alpha): a client such as
 *                                         grpcurl asks it which services there are and what
 *                                         their messages look like, with no .proto of its own
 *
 * createServer() returns the server unstarted: the caller binds it (`bindAsync("127.0.0.1:0", ...)`
 * in the tests, port 50051 for `npm run serve`). shutdown() stops it the way a deploy should:
 * calls in flight may finish, for a while.
 */
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { createUserService, type ServiceOptions } from "./service.ts";
import { loadUserProto, SERVICE_NAME } from "./user-proto.ts";
import { todo } from "#shared/todo.ts";

export { DEFAULT_TOKENS, type ServiceOptions } from "./service.ts";

export function createServer(options: ServiceOptions = {}): grpc.Server {
  // TODO: A grpc.Server with the UserService (loadUserProto() gives its service definition;
  // createUserService(options) its handlers), grpc-health-check's HealthImplementation saying
  // SERVING for "" and for SERVICE_NAME (grpc's doc/health-checking.md), and @grpc/reflection's
  // ReflectionService over the same package definition (grpc's doc/server-reflection.md).
  // Unstarted: the caller binds it.
  return todo("lesson-10-grpc", "createServer()", "Step 3");
}

/** How shutdown() went: every call finished within the grace, or some were cut off. */
export type ShutdownOutcome = "drained" | "forced";

/**
 * Stops the server in two halves. tryShutdown() refuses new calls (each gets UNAVAILABLE) and
 * lets those in flight go on to their end; if some are still going after `graceMs`,
 * forceShutdown() cancels them (their clients see the call fail) and closes the connections.
 * Resolves once the server is closed.
 */
export function shutdown(server: grpc.Server, graceMs: number): Promise<ShutdownOutcome> {
  // TODO: tryShutdown() first: no new calls, those in flight go on. If it has not finished after
  // graceMs, forceShutdown(). Resolve once the server is closed, with which of the two it took.
  return todo("lesson-10-grpc", "shutdown()", "Step 3");
}
