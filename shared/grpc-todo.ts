/**
 * A stub reached from a grpc-js handler. A handler that throws gets `UNKNOWN: Unknown error` from
 * grpc-js, which says nothing to any client; wrapped in `unwrittenFailsTheCall`, one that has not
 * been written yet ends its call with UNIMPLEMENTED and the stub's own message (the function and
 * the README step), which every client shows, grpc-js's and Python's alike. Any other error is
 * thrown on, as grpc-js would see it unwrapped.
 */
import * as grpc from "@grpc/grpc-js";
import { NotImplementedError } from "./todo.ts";

/** The part of any server call the wrapper needs: streams end with an 'error' event. */
type AnyServerCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, "emit">;

export function unwrittenFailsTheCall<A extends [AnyServerCall, ...unknown[]]>(
  handler: (...args: A) => void,
): (...args: A) => void {
  return (...args: A): void => {
    try {
      handler(...args);
    } catch (error) {
      if (!(error instanceof NotImplementedError)) throw error;
      const status = { code: grpc.status.UNIMPLEMENTED, details: error.message };
      const [call, callback] = args;
      // A unary or client-streaming call ends through its callback; the others with 'error'.
      if (typeof callback === "function") (callback as grpc.sendUnaryData<never>)(status);
      else call.emit("error", status);
    }
  };
}
