/**
 * Given code: lessons/lesson-10-grpc/protos/user.proto, loaded at run time by @grpc/proto-loader,
 * with the TypeScript shapes of its messages. The server of Step 3 serves what it describes, and
 * the tests, the bench and `npm run serve` make their clients from it, so every side reads the
 * same .proto file: no generated code to keep in step.
 *
 * proto-loader turns each message into a plain object (camelCase fields, `defaults: true` so a
 * field left off the wire reads as its proto3 default: "" or 0, never undefined) and each service
 * into the table of methods that `grpc.Server.addService` and the client constructors take.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTOS = path.join("lessons", "lesson-10-grpc", "protos");

/**
 * The lesson's protos/ folder, found from this file's folder upwards: the course's root holds
 * lessons/, and this file may be in exercises/, solutions/ or a copy the course's checks make
 * further down.
 */
export function protosDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, PROTOS);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${PROTOS} is missing`);
    dir = parent;
  }
}

/** The lesson's contract, protos/user.proto. */
export function userProtoPath(): string {
  return path.join(protosDir(), "user.proto");
}

/** proto-loader's options, the same everywhere the proto is loaded (client, server, reflection). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The service's full name, as it goes in the path of each call: /users.v1.UserService/GetUser. */
export const SERVICE_NAME = "users.v1.UserService";

export interface User {
  id: string;
  name: string;
  email: string;
}
export interface GetUserRequest {
  id: string;
}
export interface ListUsersRequest {
  /** How many users to send at most; 0 sends them all. */
  limit: number;
}
export interface CreateUserRequest {
  name: string;
  email: string;
}
export interface ImportFailure {
  /** The refused request's place in the stream, from 0. */
  index: number;
  /** The status code it would have had as a CreateUser call. */
  code: number;
  message: string;
}
export interface ImportUsersReply {
  created: number;
  failures: ImportFailure[];
}
export interface ChatMessage {
  /** Who sent it: the server sets it from the caller's token. */
  from: string;
  text: string;
}

/** A grpc-js client of the UserService, with its five methods typed. */
export interface UserServiceClient extends grpc.Client {
  GetUser(
    request: Partial<GetUserRequest>,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<User>,
  ): grpc.ClientUnaryCall;
  GetUser(
    request: Partial<GetUserRequest>,
    callback: grpc.requestCallback<User>,
  ): grpc.ClientUnaryCall;
  ListUsers(
    request: Partial<ListUsersRequest>,
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientReadableStream<User>;
  CreateUser(
    request: Partial<CreateUserRequest>,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<User>,
  ): grpc.ClientUnaryCall;
  ImportUsers(
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<ImportUsersReply>,
  ): grpc.ClientWritableStream<Partial<CreateUserRequest>>;
  Chat(
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientDuplexStream<Partial<ChatMessage>, ChatMessage>;
}

export interface UserProto {
  /** What proto-loader read: reflection describes the service from it. */
  packageDefinition: protoLoader.PackageDefinition;
  /** The service's methods, for `server.addService(UserService.service, handlers)`. */
  UserService: grpc.ServiceClientConstructor;
}

/** user.proto, loaded anew (it takes a few milliseconds). */
export function loadUserProto(): UserProto {
  const packageDefinition = protoLoader.loadSync(userProtoPath(), LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    users: { v1: { UserService: grpc.ServiceClientConstructor } };
  };
  return { packageDefinition, UserService: loaded.users.v1.UserService };
}

/**
 * A client of the UserService at `address` ("127.0.0.1:50051"), without TLS, as the course's
 * servers listen. Close it with `client.close()`.
 */
export function createUserClient(
  address: string,
  options: grpc.ChannelOptions = {},
): UserServiceClient {
  const { UserService } = loadUserProto();
  return new UserService(
    address,
    grpc.credentials.createInsecure(),
    options,
  ) as unknown as UserServiceClient;
}
