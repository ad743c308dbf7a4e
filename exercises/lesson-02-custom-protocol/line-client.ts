import { todo } from "#shared/todo.ts";

/**
 * Step 1's client. Replies come back in the order requests were sent, so each reply settles the
 * oldest request still waiting.
 */

export interface LineClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  /** True if the key existed. */
  del(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function createLineClient(options: {
  host: string;
  port: number;
}): Promise<LineClient> {
  // TODO: Connect and wait for "connect". Keep a LineSplitter and a queue of waiting requests.
  // TODO: On data: each line the splitter yields resolves the oldest waiting request. If the
  //       splitter throws, destroy the socket: the stream cannot be trusted any more.
  // TODO: On close: reject every waiting request with LINE_CONNECTION_CLOSED.
  // TODO: request(...words): the protocol's limit is refused here rather than sent and misread
  //       as two requests: CR or LF anywhere -> LineProtocolError("LINE_UNSAFE_ARGUMENT").
  //       Write the line with "\n"; a reply `ERR ...` becomes LINE_ERROR_REPLY.
  // TODO: A key must be one word: empty, or containing space, CR or LF -> LINE_UNSAFE_ARGUMENT.
  // TODO: get: `VALUE x` -> "x", NOT_FOUND -> null. del: DELETED -> true. close: end, await close.
  return todo("lesson-02-custom-protocol", "createLineClient()", "Step 1");
}
