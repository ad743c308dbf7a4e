/**
 * The request rows: "get user 123", one answer awaited at a time per operation, over every
 * transport of the course. Each row's server is its lesson's reference; each client is a library
 * nobody in this course wrote (undici, ioredis, ws, graphql-http, grpc-js, @trpc/client), so that
 * a row measures the transport, not our client.
 *
 *   row                          server (reference)               client
 *   HTTP/1.1, new connection     lesson 03 createServer(handler)  undici Client, pipelining 0
 *   HTTP/1.1, keep-alive         lesson 04 createServer           undici Client, one connection
 *   HTTP/1.1, pipelining         lesson 04 createServer           undici Client, pipelining 10
 *   RESP                         lesson 02 createServer           ioredis: GET user:123
 *   WebSocket                    the ws package (see below)       ws: {"id":"123"} -> the user
 *   REST                         lesson 08 createServer           undici Client: GET /users/123
 *   GraphQL                      lesson 09 createServer           graphql-http's client
 *   gRPC                         lesson 10 createServer           grpc-js: GetUser
 *   tRPC                         lesson 11 createServer           @trpc/client: user.getUser
 *
 * The user is the same record everywhere: lesson 08's user 123, {"id":"123","name":"Ada
 * Lovelace","email":"ada.lovelace.123@example.com"}, so that bytes per operation compare the
 * transports and not the data. Lessons 08 to 11 serve it from their own store. Lessons 02 to 04
 * have no users: lesson 02 is given that JSON under the key user:123, and lessons 03 and 04 are
 * given a handler that answers GET /users/123 with it (their own profile 123 is another record).
 *
 * Every HTTP/1.1 client here keeps to one connection (undici's Client, not a Pool), as the rows
 * of lesson 04 do: with several operations in flight, they wait their turn on it, or are
 * pipelined on it; gRPC's calls share one HTTP/2 connection side by side.
 */
import http from "node:http";
import type net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { createTRPCClient, httpLink } from "@trpc/client";
import { createClient as createGraphQLClient } from "graphql-http";
import { Redis } from "ioredis";
import { Client, fetch as undiciFetch } from "undici";
import { WebSocket, WebSocketServer } from "ws";
import { createServer as createRespServer } from "#reference/lesson-02-custom-protocol/server.ts";
import { Store as RespStore } from "#reference/lesson-02-custom-protocol/store.ts";
import type { HttpRequest } from "#reference/lesson-03-http/parser.ts";
import { json, type HttpResponse } from "#reference/lesson-03-http/response.ts";
import { createServer as createHttp10Server } from "#reference/lesson-03-http/server.ts";
import { createServer as createKeepAliveServer } from "#reference/lesson-04-keep-alive/server.ts";
import { createServer as createRestServer } from "#reference/lesson-08-rest/app.ts";
import { createStore, type Store, type User } from "#reference/lesson-08-rest/store.ts";
import { createServer as createGraphQLServer } from "#reference/lesson-09-graphql/server.ts";
import { createServer as createGrpcServer } from "#reference/lesson-10-grpc/server.ts";
import { createUserClient } from "#reference/lesson-10-grpc/user-proto.ts";
import type { AppRouter } from "#reference/lesson-11-trpc/router.ts";
import { createServer as createTrpcServer } from "#reference/lesson-11-trpc/server.ts";
import type { Session } from "#lesson/lesson-12-choosing/harness.ts";
import { serve, type RequestTransport, type RunningServer } from "./transport.ts";

const USER_ID = "123";
/** Lesson 08's user 123, as every row must answer it. */
const USER_123: User = createStore().getUser(USER_ID) as User;

export const requestTransports: RequestTransport[] = [
  {
    name: "HTTP/1.1, new connection",
    lesson: "lesson-03",
    // Lesson 03's server answers one request per connection, with Connection: close.
    start: () => serve(createHttp10Server(usersHandler())),
    // pipelining 0: undici's way to say "no persistent connection"; each request opens one.
    connect: async (port) => httpSession("HTTP/1.1, new connection", port, { pipelining: 0 }),
  },
  {
    name: "HTTP/1.1, keep-alive",
    lesson: "lesson-04",
    start: () => serve(keepAliveServer()),
    connect: async (port) => httpSession("HTTP/1.1, keep-alive", port, { pipelining: 1 }),
  },
  {
    name: "HTTP/1.1, pipelining",
    lesson: "lesson-04",
    start: () => serve(keepAliveServer()),
    // Up to 10 requests written before the first answer is back; answers come in order
    // (RFC 9112 §9.3.2). With one operation in flight, this row is the keep-alive row.
    connect: async (port) => httpSession("HTTP/1.1, pipelining", port, { pipelining: 10 }),
  },
  {
    name: "RESP",
    lesson: "lesson-02",
    start: () => {
      const store = new RespStore();
      store.set(Buffer.from(`user:${USER_ID}`), Buffer.from(JSON.stringify(USER_123)));
      return serve(createRespServer({ store }));
    },
    connect: respSession,
  },
  {
    name: "WebSocket",
    lesson: "lesson-06",
    start: () => serve(webSocketUserServer()),
    connect: webSocketSession,
  },
  {
    name: "REST",
    lesson: "lesson-08",
    start: () => serve(createRestServer()),
    connect: async (port) => httpSession("REST", port, { pipelining: 1 }),
  },
  {
    name: "GraphQL",
    lesson: "lesson-09",
    start: () => serve(createGraphQLServer()),
    connect: graphQLSession,
  },
  {
    name: "gRPC",
    lesson: "lesson-10",
    start: startGrpc,
    connect: grpcSession,
  },
  {
    name: "tRPC",
    lesson: "lesson-11",
    start: () => serve(createTrpcServer()),
    connect: trpcSession,
  },
];

// --- The answer ---------------------------------------------------------------------------------

/** Throws unless `value` is user 123, naming the row and what came back instead. */
function expectUser123(row: string, value: unknown): void {
  const user = value as Partial<User> | null;
  if (
    typeof user === "object" &&
    user !== null &&
    user.id === USER_123.id &&
    user.name === USER_123.name &&
    user.email === USER_123.email
  ) {
    return;
  }
  const got = JSON.stringify(value) ?? String(value);
  throw new Error(
    `${row}: expected user 123 ${JSON.stringify(USER_123)}, got ${got.slice(0, 300)}`,
  );
}

// --- Servers ------------------------------------------------------------------------------------

/** GET /users/123, for lessons 03 and 04, whose own API has profiles, not users. */
function usersHandler(store: Store = createStore()): (request: HttpRequest) => HttpResponse {
  return function handleUsersRequest(request) {
    const match = /^\/users\/(\d+)$/.exec(request.target);
    const user = match === null ? undefined : store.getUser(match[1] as string);
    if (request.method !== "GET" || user === undefined) {
      return json(404, { error: `Nothing at ${request.method} ${request.target}` });
    }
    return json(200, user);
  };
}

/**
 * Lesson 04's server with its handler. Its default of 100 requests per connection (nginx's own
 * default until 1.19.10) would close every 100th: this row measures a connection that is kept.
 */
function keepAliveServer(): net.Server {
  return createKeepAliveServer({
    handler: usersHandler(),
    maxRequestsPerConnection: Number.MAX_SAFE_INTEGER,
  });
}

/**
 * Lesson 06's hand-written server is an echo and its chat speaks rooms, so neither can answer
 * "get user 123". This one does, on the ws package, as the chat of lesson 06 Step 4 runs: each
 * text message {"id":"123"} is answered with the user's JSON, or {"error": ...}.
 */
function webSocketUserServer(store: Store = createStore()): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { Upgrade: "websocket" }).end();
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      let id: unknown;
      try {
        id = isBinary ? undefined : (JSON.parse(data.toString()) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
      const user = typeof id === "string" ? store.getUser(id) : undefined;
      socket.send(JSON.stringify(user ?? { error: `No user ${JSON.stringify(id)}` }));
    });
  });
  server.on("close", () => wss.close());
  return server;
}

async function startGrpc(): Promise<RunningServer> {
  const server = createGrpcServer();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    close: async () => server.forceShutdown(),
  };
}

// --- Clients ------------------------------------------------------------------------------------

/** GET /users/123 with undici, on one Client (one connection at a time). */
function httpSession(row: string, port: number, options: { pipelining: number }): Session {
  const client = new Client(`http://127.0.0.1:${port}`, options);
  return {
    async operation() {
      const { statusCode, body } = await client.request({
        method: "GET",
        path: `/users/${USER_ID}`,
        headers: { accept: "application/json" },
      });
      const text = await body.text();
      if (statusCode !== 200)
        throw new Error(`${row}: GET /users/123 answered ${statusCode}: ${text}`);
      expectUser123(row, JSON.parse(text));
    },
    close: () => client.close(),
  };
}

async function respSession(port: number): Promise<Session> {
  // lazyConnect, then connect(): the connection is open when the session is; no retries, so a
  // server that is gone fails the operation instead of queueing it.
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
  return {
    async operation() {
      const value = await redis.get(`user:${USER_ID}`);
      expectUser123("RESP", value === null ? null : JSON.parse(value));
    },
    async close() {
      redis.disconnect();
    },
  };
}

async function webSocketSession(port: number): Promise<Session> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  // One WebSocket delivers messages in order and the server answers each in turn, so the answers
  // come in the order of the requests: the oldest waiting operation gets the next one.
  const waiting: { resolve: (text: string) => void; reject: (error: Error) => void }[] = [];
  socket.on("message", (data) => waiting.shift()?.resolve(data.toString()));
  socket.on("close", () => {
    for (const operation of waiting.splice(0)) {
      operation.reject(new Error("WebSocket: the connection closed before the answer"));
    }
  });
  return {
    async operation() {
      const answer = new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
      socket.send(JSON.stringify({ id: USER_ID }));
      expectUser123("WebSocket", JSON.parse(await answer));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        socket.close(1000);
      }),
  };
}

async function graphQLSession(port: number): Promise<Session> {
  const dispatcher = new Client(`http://127.0.0.1:${port}`);
  const client = createGraphQLClient({
    url: `http://127.0.0.1:${port}/graphql`,
    fetchFn: (input: string, init: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher }),
  });
  // The fields of the REST row's answer, and no more.
  const query = `{ user(id: "${USER_ID}") { id name email } }`;
  return {
    operation: () =>
      new Promise<void>((resolve, reject) => {
        client.subscribe<{ user: User | null }>(
          { query },
          {
            next: (result) => {
              try {
                if (result.errors !== undefined) {
                  throw new Error(`GraphQL: errors ${JSON.stringify(result.errors)}`);
                }
                expectUser123("GraphQL", result.data?.user);
                resolve();
              } catch (error) {
                reject(error as Error);
              }
            },
            error: (error) => reject(error instanceof Error ? error : new Error(String(error))),
            complete: () => undefined,
          },
        );
      }),
    close: async () => {
      client.dispose();
      await dispatcher.close();
    },
  };
}

async function grpcSession(port: number): Promise<Session> {
  // GetUser needs no token (lesson 10: only the calls that write or chat do).
  const client = createUserClient(`127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 5_000, (error) => (error ? reject(error) : resolve())),
  );
  return {
    operation: () =>
      new Promise<void>((resolve, reject) => {
        client.GetUser({ id: USER_ID }, (error, user) => {
          if (error) return reject(error);
          try {
            expectUser123("gRPC", user);
            resolve();
          } catch (failure) {
            reject(failure as Error);
          }
        });
      }),
    close: async () => client.close(),
  };
}

async function trpcSession(port: number): Promise<Session> {
  const dispatcher = new Client(`http://127.0.0.1:${port}`);
  // httpLink: one HTTP request per call, as the other rows make; httpBatchLink would merge the
  // calls of one tick into one request, which a one-at-a-time workload never has.
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `http://127.0.0.1:${port}/trpc`,
        fetch: (input, init) =>
          undiciFetch(input as string, {
            ...(init as object),
            dispatcher,
          }) as unknown as Promise<Response>,
      }),
    ],
  });
  return {
    async operation() {
      expectUser123("tRPC", await client.user.getUser.query({ id: USER_ID }));
    },
    close: () => dispatcher.close(),
  };
}
