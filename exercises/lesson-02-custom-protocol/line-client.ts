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

export type LineClientErrorCode =
  /** The client was asked to send a key or value the line protocol cannot carry. */
  | "LINE_UNSAFE_ARGUMENT"
  /** The connection closed with requests still waiting for replies. */
  | "LINE_CONNECTION_CLOSED"
  /** The server replied `ERR ...`. */
  | "LINE_ERROR_REPLY";

export class LineClientError extends Error {
  readonly code: LineClientErrorCode;

  constructor(code: LineClientErrorCode, message: string) {
    super(message);
    this.name = "LineClientError";
    this.code = code;
  }
}

export async function createLineClient(options: {
  host: string;
  port: number;
}): Promise<LineClient> {
  // TODO: Each reply line settles the oldest request still waiting (replies come in request
  //       order). Cut the replies into lines with Lesson 01's LineSplitter; a reply line can be
  //       `VALUE ` and a 64 KiB value.
  // TODO: Refuse what the protocol cannot carry rather than send it and have it misread:
  //       CR or LF anywhere in a request, and a key that is not one word (empty, or with a
  //       space): LINE_UNSAFE_ARGUMENT, before anything is sent.
  // TODO: `ERR <why>`: reject with LINE_ERROR_REPLY and the text after `ERR `. When the
  //       connection closes, every request still waiting rejects with LINE_CONNECTION_CLOSED.
  // TODO: get: `VALUE x` is "x", NOT_FOUND is null. del: DELETED is true. close(): end the
  //       connection and resolve once it is closed.
  return todo("lesson-02-custom-protocol", "createLineClient()", "Step 1");
}
