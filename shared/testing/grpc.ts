/**
 * Testing a grpc-js server. grpc-js catches what a handler throws and answers the call with
 * UNKNOWN and the message "Unknown error", so a stub's todo() reached from a handler would reach
 * the test as that and nothing more. serveGrpc(server) starts the server on 127.0.0.1 and a free
 * port, forces it shut when the test ends, and first wraps every handler registered on it:
 *
 *   - what a handler throws (or the promise it returns rejects with) ends the call with UNKNOWN and
 *     the error's own message, and `failed` rejects with it, so a test that races its waits
 *     against `failed` ends at once with the code's own message (as guard.ts does for net);
 *   - each call a handler got is recorded (SeenCall), with what the handler did with its write()
 *     calls: how many, how many while the stream's buffer was full (write() had returned false and
 *     no "drain" had come since: backpressure ignored), how many after the call was cancelled or
 *     ended; and how many times it called its callback;
 *   - a status that carries a stub's message (the lessons' own code ends an unwritten handler's
 *     call with it, so that every client sees it) rejects `failed` with that message too.
 *
 * It observes the real grpc-js stream objects the handlers get; no client or server is mocked.
 */
import * as grpc from "@grpc/grpc-js";
import { onTestFinished } from "vitest";
import { within } from "./patience.ts";

/** What every call a handler gets has: metadata, `cancelled`, the "cancelled" event. */
export type ServerCall = Omit<grpc.ServerUnaryCall<unknown, unknown>, "request">;

export interface SeenCall {
  /** The method's name, the last part of its path: "GetUser" for /users.v1.UserService/GetUser. */
  method: string;
  /** The stream (or unary call) object the handler got. */
  call: ServerCall;
  /** How many times the handler called write(). */
  writes: number;
  /** write() calls made while the buffer was full: write() had returned false, no "drain" since. */
  writesWhileFull: number;
  /** write() calls made after the call was cancelled, or after the handler ended it. */
  writesAfterEnd: number;
  /** How many times the handler called its callback (unary and client-streaming calls). */
  replies: number;
  /** Resolves the first time write() returns false (the client is not keeping up). */
  full: Promise<void>;
  /** Resolves when grpc-js tells the handler the call is cancelled (a cancel, a deadline). */
  cancelled: Promise<void>;
}

export interface ServedGrpc {
  /** "127.0.0.1:PORT", for a client's constructor. */
  address: string;
  port: number;
  /** Rejects with the first error a handler threw; never resolves. */
  failed: Promise<never>;
  /** Every call that reached a handler, in order. */
  calls: SeenCall[];
  /** Resolves once `count` calls of `method` have reached their handler (and it has returned). */
  reached(method: string, count?: number): Promise<SeenCall[]>;
}

interface RegisteredHandler {
  func: (call: ServerCall, callback?: grpc.sendUnaryData<unknown>) => unknown;
  type: "unary" | "clientStream" | "serverStream" | "bidi";
}

/** grpc-js keeps its handlers in a Map by path; this reads it, and says so if it moved. */
function handlersOf(server: grpc.Server): Map<string, RegisteredHandler> {
  const handlers = (server as unknown as { handlers?: unknown }).handlers;
  if (!(handlers instanceof Map)) {
    throw new Error(
      "shared/testing/grpc.ts: this grpc-js Server has no `handlers` Map, which the course's tests read to watch the handlers",
    );
  }
  return handlers as Map<string, RegisteredHandler>;
}

/** Starts `server` (unstarted, services added) on 127.0.0.1:0; forced shut when the test ends. */
export async function serveGrpc(server: grpc.Server): Promise<ServedGrpc> {
  onTestFinished(() => server.forceShutdown());
  let reject!: (error: unknown) => void;
  const failed = new Promise<never>((_resolve, rejectFailed) => (reject = rejectFailed));
  failed.catch(() => {}); // a test that never waits on it is not an unhandled rejection
  let first: unknown;
  const calls: SeenCall[] = [];
  const waiters = new Set<() => void>();
  const caught = (error: unknown): void => {
    if (first === undefined) {
      first = error;
      reject(error);
    }
  };
  const caughtStub = (status: unknown): void => {
    const details = (status as { details?: unknown } | null | undefined)?.details;
    if (typeof details === "string" && STUB.test(details)) caught(new Error(details));
  };

  for (const [path, handler] of handlersOf(server)) {
    const method = path.slice(path.lastIndexOf("/") + 1);
    const original = handler.func;
    handler.func = (call, callback) => {
      const seen = watch(method, call);
      calls.push(seen);
      // A stub the lesson's own code caught and answered as a status still ends the test with
      // its message, at once.
      const emit = call.emit.bind(call);
      call.emit = (event: string | symbol, ...args: unknown[]): boolean => {
        if (event === "error") caughtStub(args[0]);
        return emit(event, ...args);
      };
      const reply: grpc.sendUnaryData<unknown> | undefined =
        callback &&
        ((error, ...rest) => {
          seen.replies++;
          caughtStub(error);
          callback(error, ...rest);
        });
      const fail = (error: unknown): void => {
        caught(error);
        const status = Object.assign(new Error(messageOf(error)), {
          code: grpc.status.UNKNOWN,
          details: messageOf(error),
        });
        if (callback) callback(status);
        else call.emit("error", status);
      };
      try {
        const result = original(call, reply);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
      for (const wake of waiters) wake();
    };
  }

  const port = await within(
    new Promise<number>((resolve, rejectBind) => {
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? rejectBind(error) : resolve(bound),
      );
    }),
    "the grpc-js server bound to 127.0.0.1:0",
  );
  return {
    address: `127.0.0.1:${port}`,
    port,
    failed,
    calls,
    reached(method, count = 1) {
      const ofMethod = (): SeenCall[] => calls.filter((c) => c.method === method);
      if (ofMethod().length >= count) return Promise.resolve(ofMethod());
      return new Promise((resolve) => {
        const wake = (): void => {
          if (ofMethod().length < count) return;
          waiters.delete(wake);
          resolve(ofMethod());
        };
        waiters.add(wake);
      });
    },
  };
}

/** The message of shared/todo.ts's NotImplementedError, as a status's details. */
const STUB = /is not written yet\. Read Step \d+ in lessons\//;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Records what a handler does with its call's write(). */
function watch(method: string, call: ServerCall): SeenCall {
  let onFull!: () => void;
  let onCancelled!: () => void;
  const seen: SeenCall = {
    method,
    call,
    writes: 0,
    writesWhileFull: 0,
    writesAfterEnd: 0,
    replies: 0,
    full: new Promise<void>((resolve) => (onFull = resolve)),
    cancelled: new Promise<void>((resolve) => (onCancelled = resolve)),
  };
  call.on("cancelled", () => onCancelled());
  const stream = call as Partial<grpc.ServerWritableStream<unknown, unknown>>;
  const write = stream.write?.bind(stream);
  if (write === undefined) return seen;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    seen.writes++;
    if (stream.writableNeedDrain) seen.writesWhileFull++;
    if (call.cancelled || stream.writableEnded || stream.destroyed) seen.writesAfterEnd++;
    const ok = (write as (chunk: unknown, ...rest: unknown[]) => boolean)(chunk, ...rest);
    if (!ok) onFull();
    return ok;
  }) as typeof stream.write;
  return seen;
}

/** Closes `client` when the current test ends. */
export function closeAfterTest<T extends grpc.Client>(client: T): T {
  onTestFinished(() => client.close());
  return client;
}

/** "5 NOT_FOUND" for a status code, to print beside what was expected. */
export function statusName(code: number | undefined): string {
  if (code === undefined) return "no status";
  const name = (grpc.status as unknown as Record<number, string>)[code];
  return `${code} ${name ?? "(not a gRPC status code)"}`;
}
