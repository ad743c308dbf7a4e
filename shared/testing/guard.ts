/**
 * Half-written code fails fast. A server's code runs inside event listeners ("connection", and the
 * accepted socket's "data", "end", "drain", ...). When one of them throws (a stub's todo(), or a
 * bug), Node has nobody to give the error to: it becomes an uncaught exception that vitest reports
 * apart from any test, and the test waits for a reply that never comes.
 *
 * guard(server) wraps the listeners the server has registered, and those its "connection"
 * listeners register on each accepted socket. What one of them throws is caught: that socket is
 * destroyed (the other connections go on), and `failed` rejects with the error as it was thrown,
 * so a test that races its waits against `failed` ends at once with the code's own message.
 *
 * It adds no "error" listener anywhere: a server without one must still crash on a reset, so that a
 * test can tell.
 */
import type net from "node:net";

/** Events of an accepted socket whose listeners are guarded. */
const SOCKET_EVENTS = ["data", "end", "drain", "timeout", "close", "finish"] as const;

export interface Guard {
  /** Rejects with the first error a guarded listener threw; never resolves. */
  readonly failed: Promise<never>;
  /** That error, once there is one. */
  readonly error: unknown;
}

type Listener = (...args: unknown[]) => void;

export function guard(server: net.Server): Guard {
  let reject!: (error: unknown) => void;
  const failed = new Promise<never>((_resolve, rejectFailed) => (reject = rejectFailed));
  failed.catch(() => {}); // a test that never waits on it is not an unhandled rejection
  const state: { failed: Promise<never>; error: unknown } = { failed, error: undefined };
  const caught = (error: unknown, socket: net.Socket | undefined): void => {
    if (state.error === undefined) {
      state.error = error;
      reject(error);
    }
    socket?.destroy();
  };

  const wrap = (emitter: NodeJS.EventEmitter, event: string, socket?: net.Socket): void => {
    const listeners = emitter.rawListeners(event) as Listener[];
    if (listeners.length === 0) return;
    emitter.removeAllListeners(event);
    for (const listener of listeners) {
      const wrapper = function (this: unknown, ...args: unknown[]): void {
        try {
          listener.apply(this, args);
        } catch (error) {
          caught(error, socket ?? (args[0] as net.Socket | undefined));
        }
      };
      // EventEmitter finds a listener to remove by itself or by its `listener` property (that is
      // how a once() listener is removed). So `socket.off("data", onData)` in the code under test
      // still removes onData, and a once() listener still runs once.
      emitter.on(event, Object.assign(wrapper, { listener }));
    }
  };

  wrap(server, "connection");
  // After the server's own "connection" listeners: by now they have set up the socket.
  server.on("connection", (socket: net.Socket) => {
    if (socket.destroyed) return;
    for (const event of SOCKET_EVENTS) wrap(socket, event, socket);
  });
  return state;
}
