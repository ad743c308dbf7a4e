/**
 * Given: the messages of protos/user.proto that this lesson's hand-written code sends and
 * receives, as MessageSpecs for protobuf.ts. Each is the .proto's message written out: the same
 * field names (camelCase, as protobufjs and proto-loader give them), numbers, types and order. A
 * test reads user.proto with protobufjs and checks that they have not drifted apart.
 *
 *   message User { string id = 1; string name = 2; string email = 3; }
 */
import type { MessageSpec } from "./protobuf.ts";

export const UserSpec: MessageSpec = {
  name: "users.v1.User",
  fields: [
    { name: "id", number: 1, type: "string" },
    { name: "name", number: 2, type: "string" },
    { name: "email", number: 3, type: "string" },
  ],
};

export const GetUserRequestSpec: MessageSpec = {
  name: "users.v1.GetUserRequest",
  fields: [{ name: "id", number: 1, type: "string" }],
};

export const ListUsersRequestSpec: MessageSpec = {
  name: "users.v1.ListUsersRequest",
  fields: [{ name: "limit", number: 1, type: "uint32" }],
};

export const CreateUserRequestSpec: MessageSpec = {
  name: "users.v1.CreateUserRequest",
  fields: [
    { name: "name", number: 1, type: "string" },
    { name: "email", number: 2, type: "string" },
  ],
};
