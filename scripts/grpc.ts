// npm run grpc -- <[host:]port> <method> [json] [--token T] [--metadata "name: value"] [--deadline ms]
//
// A gRPC client for trying servers by hand, the same on every OS (no grpcurl needed). It knows
// the services of the course's .proto files, calls one method with @grpc/grpc-js, and prints
// what comes back: the response headers, each message as JSON, the status and the trailers.
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ROOT } from "./lib/lessons.ts";
import { dim } from "./lib/style.ts";

const usage =
  'npm run grpc -- <[host:]port> <method> [json] [--token T] [--metadata "name: value"] [--deadline ms]';

/** Every .proto under lessons/<lesson>/protos/, with the folder each is imported from. */
function protoFiles(): { files: string[]; includeDirs: string[] } {
  const files: string[] = [];
  const includeDirs: string[] = [];
  const lessons = path.join(ROOT, "lessons");
  for (const lesson of readdirSync(lessons)) {
    const root = path.join(lessons, lesson, "protos");
    let entries: string[];
    try {
      entries = readdirSync(root, { recursive: true, encoding: "utf8" });
    } catch {
      continue;
    }
    includeDirs.push(root);
    for (const entry of entries) if (entry.endsWith(".proto")) files.push(entry);
  }
  // The standard health service, as grpc-health-check ships it (resolved by Node, wherever npm
  // put it), so that `npm run grpc -- 50051 Check '{}'` asks a server how it is.
  const health = fileURLToPath(
    import.meta.resolve("grpc-health-check/proto/health/v1/health.proto"),
  );
  includeDirs.push(path.dirname(health));
  files.push(path.basename(health));
  return { files, includeDirs };
}

const { files, includeDirs } = protoFiles();
const definition = protoLoader.loadSync(files, {
  includeDirs,
  keepCase: false,
  longs: String,
  enums: String,
  // bytes fields as base64 text, both ways, as grpcurl and the proto3 JSON mapping write them
  bytes: String,
  defaults: true,
  oneofs: true,
});
const methods = Object.entries(definition).flatMap(([service, value]) =>
  "format" in value
    ? []
    : Object.entries(value as protoLoader.ServiceDefinition).map(([name, method]) => ({
        service,
        name,
        method,
      })),
);
const help = `Usage: ${usage}

Calls one method of a gRPC server (plaintext HTTP/2, as the lessons serve it) and prints the
response headers, each message that comes back as JSON, then the status and the trailers.

  <method>            GetUser, UserService/GetUser or users.v1.UserService/GetUser
  [json]              the request message as JSON, {} when absent (bytes fields in base64); for a method that takes a
                      stream, one JSON message per line of input instead (end it with Ctrl-D,
                      or Ctrl-Z then Enter on Windows)
  --token T           send the metadata authorization: Bearer T
  --metadata "n: v"   send the metadata n with the value v (may be given more than once)
  --deadline ms       give the call a deadline, ms from now (sent as grpc-timeout)

Methods it knows:
${methods.map((m) => `  ${m.service}/${m.name}${m.method.requestStream ? " (request stream)" : ""}${m.method.responseStream ? " (response stream)" : ""}`).join("\n")}

Examples (lesson 10's server, from npm run serve -- lesson-10):
  npm run grpc -- 50051 GetUser '{"id":"123"}'
  npm run grpc -- 50051 ListUsers '{"limit":3}'
  npm run grpc -- 50051 CreateUser '{"name":"Grace","email":"grace@example.com"}' --token demo-token
  npm run grpc -- 50051 Check '{"service":"users.v1.UserService"}'   (the health service)
On Windows' cmd, write the JSON with double quotes escaped: "{\\"id\\":\\"123\\"}".`;

const argv = process.argv.slice(2);
const positional: string[] = [];
const metadata = new grpc.Metadata();
let deadlineMs: number | undefined;
const fail = (problem: string): never => {
  console.error(`${problem}\nUsage: ${usage}`);
  process.exit(2);
};
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i] as string;
  const value = (): string => {
    const next = argv[++i];
    if (next === undefined || next.startsWith("--")) fail(`${arg} needs a value.`);
    return next as string;
  };
  if (arg === "--help") {
    console.log(help);
    process.exit(0);
  } else if (arg === "--token") metadata.add("authorization", `Bearer ${value()}`);
  else if (arg === "--metadata") {
    const field = value();
    const colon = field.indexOf(":");
    if (colon <= 0) fail(`Metadata is "name: value": ${JSON.stringify(field)}`);
    metadata.add(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  } else if (arg === "--deadline") {
    deadlineMs = Number(value());
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0)
      fail("--deadline is a whole number of ms.");
  } else if (arg.startsWith("--")) fail(`Unknown option: ${arg}`);
  else positional.push(arg);
}
const [where, methodName, json] = positional;
if (where === undefined || methodName === undefined)
  fail("Name a port (or host:port) and a method.");
if (positional.length > 3) fail("Too many arguments: is the JSON quoted?");
const address = /^\d+$/.test(where as string) ? `127.0.0.1:${where}` : (where as string);

const wanted = (methodName as string).replace(/^\//, "");
const found = methods.filter(
  (m) =>
    `${m.service}/${m.name}` === wanted ||
    `${m.service.split(".").at(-1)}/${m.name}` === wanted ||
    m.name === wanted,
);
if (found.length !== 1) {
  fail(
    found.length === 0
      ? `No method ${JSON.stringify(wanted)}; run npm run grpc -- --help for the list.`
      : `${JSON.stringify(wanted)} is ambiguous: ${found.map((m) => `${m.service}/${m.name}`).join(", ")}`,
  );
}
const { method } = found[0] as (typeof methods)[number];

function parseMessage(text: string): object {
  try {
    const message: unknown = JSON.parse(text);
    if (typeof message === "object" && message !== null && !Array.isArray(message)) return message;
  } catch {
    // said below
  }
  return fail(`A request message is a JSON object: ${JSON.stringify(text)}`);
}
const request = method.requestStream ? undefined : parseMessage(json ?? "{}");
if (method.requestStream && json !== undefined) {
  fail("This method takes a stream: give its messages on the input, one JSON object a line.");
}

// `npm run grpc -- ... | head` closes the pipe early: that ends the output, not with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

const client = new grpc.Client(address, grpc.credentials.createInsecure());
const options: grpc.CallOptions =
  deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + deadlineMs) };
const serialize = method.requestSerialize as (value: object) => Buffer;
const deserialize = method.responseDeserialize as (bytes: Buffer) => object;
const show = (message: object): void => console.log(JSON.stringify(message, null, 2));
const showMetadata = (label: string, m: grpc.Metadata): void => {
  const entries = Object.entries(m.getMap());
  if (entries.length === 0) return;
  console.log(dim(label));
  for (const [name, value] of entries) {
    console.log(dim(`  ${name}: ${Buffer.isBuffer(value) ? value.toString("base64") : value}`));
  }
};
function finish(status: grpc.StatusObject): void {
  const name = grpc.status[status.code] ?? "?";
  console.log(
    dim(
      `status: ${status.code} ${name}${status.details && status.details !== name ? ` ${JSON.stringify(status.details)}` : ""}`,
    ),
  );
  showMetadata("trailers:", status.metadata);
  client.close();
  process.exitCode = status.code === grpc.status.OK ? 0 : 1;
}

console.log(dim(`→ ${address} /${found[0]?.service}/${found[0]?.name}`));
type Call =
  | grpc.ClientUnaryCall
  | grpc.ClientReadableStream<object>
  | grpc.ClientDuplexStream<object, object>;
let call: Call;
const onResponse = (error: grpc.ServiceError | null, response?: object): void => {
  if (response) show(response);
  // The status comes on the call's 'status' event as well; an error here needs no more.
  void error;
};
if (!method.requestStream && !method.responseStream) {
  call = client.makeUnaryRequest(
    method.path,
    serialize,
    deserialize,
    request as object,
    metadata,
    options,
    onResponse,
  );
} else if (!method.requestStream) {
  call = client.makeServerStreamRequest(
    method.path,
    serialize,
    deserialize,
    request as object,
    metadata,
    options,
  );
} else if (!method.responseStream) {
  call = client.makeClientStreamRequest(
    method.path,
    serialize,
    deserialize,
    metadata,
    options,
    onResponse,
  );
} else {
  call = client.makeBidiStreamRequest(method.path, serialize, deserialize, metadata, options);
}
call.on("metadata", (m: grpc.Metadata) => showMetadata("response headers:", m));
call.on("status", finish);
if (method.responseStream) {
  const stream = call as grpc.ClientReadableStream<object>;
  stream.on("data", show);
  stream.on("error", () => {}); // the status says it
}
if (method.requestStream) {
  const stream = call as grpc.ClientWritableStream<object>;
  if (process.stdin.isTTY) console.log(dim("One JSON message a line; Ctrl-D ends the stream."));
  const input = createInterface({ input: process.stdin, terminal: false });
  input.on("line", (line) => {
    if (line.trim() !== "") stream.write(parseMessage(line));
  });
  input.on("close", () => stream.end());
}
process.on("SIGINT", () => {
  console.log(dim("Cancelling the call..."));
  call.cancel();
});
