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

/** The chat's one error class, on both sides of the wire, with a stable `code`. */
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

const room = z
  .string({ error: "must be a string" })
  .min(1, { error: "must not be empty" })
  .max(MAX_ROOM_LENGTH, { error: `must be at most ${MAX_ROOM_LENGTH} characters` });

const clientId = z
  .string({ error: "must be a string" })
  .regex(/^[\w-]+$/, { error: "must be letters, digits, _ or -" })
  .max(MAX_CLIENT_ID_LENGTH, { error: `must be at most ${MAX_CLIENT_ID_LENGTH} characters` });

const seq = z
  .number({ error: "must be a number" })
  .int({ error: "must be a whole number, 1 or more" })
  .positive({ error: "must be a whole number, 1 or more" })
  .max(Number.MAX_SAFE_INTEGER, { error: "must be a safe integer" });

const cursor = z
  .number({ error: "must be a number" })
  .int({ error: "must be a whole number, 0 or more" })
  .nonnegative({ error: "must be a whole number, 0 or more" })
  .max(Number.MAX_SAFE_INTEGER, { error: "must be a safe integer" });

const clientMessageSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("join"), room, after: cursor.optional() }),
    z.object({ type: z.literal("leave"), room }),
    z.object({
      type: z.literal("say"),
      room,
      client: clientId,
      seq,
      text: z
        .string({ error: "must be a string" })
        .min(1, { error: "must not be empty" })
        .max(MAX_TEXT_LENGTH, { error: `must be at most ${MAX_TEXT_LENGTH} characters` }),
    }),
  ],
  { error: 'must be "join", "leave" or "say"' },
);

// The client checks what the server sends too: a server is a peer on the network like any other.
const serverMessageSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("presence"), room: z.string(), members: z.array(z.string()) }),
    z.object({
      type: z.literal("message"),
      room: z.string(),
      id: z.number().int().positive(),
      from: z.string(),
      client: z.string(),
      seq: z.number().int().positive(),
      text: z.string(),
    }),
    z.object({ type: z.literal("ack"), client: z.string(), seq: z.number().int().positive() }),
    z.object({
      type: z.literal("error"),
      code: z.enum([
        "CHAT_BAD_JSON",
        "CHAT_BAD_MESSAGE",
        "CHAT_NOT_A_MEMBER",
        "CHAT_HISTORY_GONE",
        "CHAT_REFUSED",
        "CHAT_BAD_RESPONSE",
      ]),
      field: z.string().optional(),
      message: z.string(),
    }),
  ],
  { error: "must be a known message type" },
);

/**
 * A client's WebSocket text message as a ClientMessage, or a ChatError: CHAT_BAD_JSON when it is
 * not JSON, CHAT_BAD_MESSAGE naming the first field at fault when it is not a valid message.
 */
export function parseClientMessage(text: string): ClientMessage {
  const result = clientMessageSchema.safeParse(parseJson(text, "CHAT_BAD_JSON"));
  if (!result.success) throw refusal("CHAT_BAD_MESSAGE", result.error);
  return result.data;
}

/** The server's WebSocket text message as a ServerMessage (client side), or CHAT_BAD_RESPONSE. */
export function parseServerMessage(text: string): ServerMessage {
  const result = serverMessageSchema.safeParse(parseJson(text, "CHAT_BAD_RESPONSE"));
  if (!result.success) throw refusal("CHAT_BAD_RESPONSE", result.error);
  return result.data;
}

function parseJson(text: string, code: "CHAT_BAD_JSON" | "CHAT_BAD_RESPONSE"): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ChatError(code, `the message is not JSON: ${JSON.stringify(text.slice(0, 40))}`, {
      cause: error,
    });
  }
}

/** The first issue zod found, as a ChatError whose message starts with the field's name. */
function refusal(code: "CHAT_BAD_MESSAGE" | "CHAT_BAD_RESPONSE", error: z.ZodError): ChatError {
  const issue = error.issues[0];
  const field = issue !== undefined && issue.path.length > 0 ? issue.path.join(".") : undefined;
  if (field === undefined) return new ChatError(code, "the message must be a JSON object");
  return new ChatError(code, `${field} ${issue?.message}`, { field });
}
