/**
 * The chat's messages, both ways, as JSON in WebSocket text messages. Everything that arrives from
 * the network is checked here with zod before it is used; a refusal names the field at fault.
 *
 *   client -> server                                 server -> client
 *   {"type":"join","room":"lobby","after":12}        {"type":"presence","room":"lobby","members":["ada","bob"]}
 *   {"type":"leave","room":"lobby"}                  {"type":"message","room":"lobby","id":13,"from":"ada",
 *   {"type":"say","room":"lobby","client":"c1",       "client":"c1","seq":7,"text":"hi"}
 *    "seq":7,"text":"hi"}                            {"type":"ack","client":"c1","seq":7}
 *                                                    {"type":"error","code":"CHAT_BAD_MESSAGE","field":"seq",
 *                                                     "message":"seq must be a whole number, 1 or more"}
 *
 * A `say` is identified by its sender's `client` id (chosen by the client, kept across
 * reconnections) and `seq`, which counts up from 1 on that client. That pair is what the server
 * acknowledges, and what lets it recognise a message sent twice. A `message` also carries the
 * room's own `id`, counting up from 1 in each room: a client that comes back joins with `after`,
 * the last id it has, and gets what it missed.
 */
import { z } from "zod";
import { todo } from "#shared/todo.ts";

/** Caps on what one message may hold, in UTF-16 code units (what `string.length` counts). */
export const MAX_ROOM_LENGTH = 64;
export const MAX_TEXT_LENGTH = 4_000;
export const MAX_CLIENT_ID_LENGTH = 64;

export interface JoinMessage {
  type: "join";
  room: string;
  /** The last room id this client has seen there: the server sends every later message it keeps. */
  after?: number | undefined;
}

export interface LeaveMessage {
  type: "leave";
  room: string;
}

export interface SayMessage {
  type: "say";
  room: string;
  /** The sending client's id, the same on every connection it opens. */
  client: string;
  /** 1 for the client's first message, then 2, 3, ... */
  seq: number;
  text: string;
}

/** What a client sends. */
export type ClientMessage = JoinMessage | LeaveMessage | SayMessage;

export interface PresenceMessage {
  type: "presence";
  room: string;
  /** The names of the users in the room now, sorted, each once. */
  members: string[];
}

export interface ChatMessage {
  type: "message";
  room: string;
  /** The room's sequence number for this message: 1, 2, 3, ... in each room. */
  id: number;
  /** The sender's user name, as its token says. */
  from: string;
  client: string;
  seq: number;
  text: string;
}

export interface AckMessage {
  type: "ack";
  client: string;
  seq: number;
}

export interface ErrorMessage {
  type: "error";
  code: ChatErrorCode;
  /** The field at fault, when one field is to blame. */
  field?: string | undefined;
  message: string;
}

/** What the server sends. */
export type ServerMessage = PresenceMessage | ChatMessage | AckMessage | ErrorMessage;

/**
 * The chat's error codes, sent in `error` messages (the connection stays open) or thrown.
 *
 *   CHAT_BAD_JSON       a message that is binary, or text that is not JSON
 *   CHAT_BAD_MESSAGE    JSON that is not a valid message: `field` says which field
 *   CHAT_NOT_A_MEMBER   a `say` or `leave` for a room this connection has not joined
 *   CHAT_HISTORY_GONE   a `join` whose `after` is older than the room keeps: messages were missed
 *   CHAT_REFUSED        (client) the server refused the upgrade: a bad token or Origin
 *   CHAT_BAD_RESPONSE   (client) the server sent something that is not a valid message
 */
export type ChatErrorCode =
  | "CHAT_BAD_JSON"
  | "CHAT_BAD_MESSAGE"
  | "CHAT_NOT_A_MEMBER"
  | "CHAT_HISTORY_GONE"
  | "CHAT_REFUSED"
  | "CHAT_BAD_RESPONSE";

/** The chat's one error class, on both sides of the wire, with a stable `code`. Given: use it as it is. */
export class ChatError extends Error {
  readonly code: ChatErrorCode;
  readonly field: string | undefined;

  constructor(
    code: ChatErrorCode,
    message: string,
    options: { field?: string } & ErrorOptions = {},
  ) {
    super(message, options);
    this.name = "ChatError";
    this.code = code;
    this.field = options.field;
  }
}

/**
 * A client's WebSocket text message as a ClientMessage, or a ChatError: CHAT_BAD_JSON when it is
 * not JSON, CHAT_BAD_MESSAGE naming the first field at fault when it is not a valid message.
 */
export function parseClientMessage(text: string): ClientMessage {
  // TODO: Nothing from the network is trusted: check the JSON against a zod schema of the three
  // client messages, told apart by `type` (join, leave, say), with the caps above. A `client` id
  // is letters, digits, `_` and `-` only, 1 to MAX_CLIENT_ID_LENGTH of them; `seq` is a safe
  // integer from 1, `after` one from 0. A refusal is a ChatError whose `field` is the path of
  // zod's first issue ("seq", "room") and whose message starts with it; text that is not JSON is
  // CHAT_BAD_JSON.
  return todo("lesson-06-websockets", "parseClientMessage()", "Step 4");
}

/** The server's WebSocket text message as a ServerMessage (client side), or CHAT_BAD_RESPONSE. */
export function parseServerMessage(text: string): ServerMessage {
  // TODO: The client checks what the server sends just as carefully: a schema of the four server
  // messages (presence, message, ack, error); anything else, or text that is not JSON, is
  // CHAT_BAD_RESPONSE.
  return todo("lesson-06-websockets", "parseServerMessage()", "Step 4");
}
