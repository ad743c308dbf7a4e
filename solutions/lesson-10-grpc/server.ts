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

export { DEFAULT_TOKENS, type ServiceOptions } from "./service.ts";

export function createServer(options: ServiceOptions = {}): grpc.Server {
  const { packageDefinition, UserService } = loadUserProto();
  const server = new grpc.Server();
  server.addService(UserService.service, createUserService(options));
  // The health service's names are services' full names; "" stands for the whole server
  // (grpc's doc/health-checking.md).
  new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" }).addToServer(server);
  new ReflectionService(packageDefinition).addToServer(server);
  return server;
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
  return new Promise((resolve) => {
    let outcome: ShutdownOutcome = "drained";
    const timer = setTimeout(() => {
      outcome = "forced";
      server.forceShutdown();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}
