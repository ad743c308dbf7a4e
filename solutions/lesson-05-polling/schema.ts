/**
 * What the feed accepts and returns, as zod schemas: a POST body, the query of a poll, and (for
 * the client) a batch of messages and the answer to a cursor that is too old. Anything from the network is checked here before it is used;
 * a refusal names the field at fault.
 */
import { z } from "zod";
import { FeedError } from "./errors.ts";
import type { Message, MessageInput } from "./feed.ts";

/**
 * Caps on a message, in UTF-16 code units (what `string.length` counts). The POST body is capped
 * in bytes as well, by the server; 500 code units are at most 3000 bytes of JSON even written as
 * `\uXXXX` escapes, so every valid message fits in the default 4 KiB body.
 */
export const MAX_AUTHOR_LENGTH = 40;
export const MAX_TEXT_LENGTH = 500;

const messageInputSchema = z.object({
  author: z
    .string({ error: "must be a string" })
    .trim()
    .min(1, { error: "must not be empty" })
    .max(MAX_AUTHOR_LENGTH, { error: `must be at most ${MAX_AUTHOR_LENGTH} characters` }),
  text: z
    .string({ error: "must be a string" })
    .min(1, { error: "must not be empty" })
    .max(MAX_TEXT_LENGTH, { error: `must be at most ${MAX_TEXT_LENGTH} characters` }),
});

/** A cursor or a wait, as it arrives in a query string: digits only, so no "1e3", "-1", " 5". */
const wholeNumber = z
  .string({ error: "must be given once" })
  .regex(/^\d{1,15}$/, { error: "must be a whole number, 0 or more" })
  .transform(Number);

const pollQuerySchema = z.object({
  /** The cursor: the id of the last message the client has. Without it, from the start. */
  after: wholeNumber.default(0),
  /** How long to hold the request open (ms). Without it, a short poll. */
  wait: wholeNumber.optional(),
});

/** A poll's query, checked: the cursor, and the wait in ms for a long poll. */
export interface PollQuery {
  after: number;
  wait?: number | undefined;
}

const batchSchema = z.object({
  messages: z.array(
    z.object({
      id: z.number().int().positive(),
      author: z.string(),
      text: z.string(),
      at: z.string(),
    }),
  ),
  more: z.boolean(),
});

const expiredSchema = z.object({ oldestId: z.number().int().nonnegative() });

/** A batch as the server sends it: the messages after the cursor, and whether more are waiting. */
export interface Batch {
  messages: Message[];
  more: boolean;
}

/** A parsed JSON body as a message, or FEED_BAD_MESSAGE naming the first field at fault. */
export function parseMessageInput(body: unknown): MessageInput {
  const result = messageInputSchema.safeParse(body);
  if (!result.success) throw refusal("FEED_BAD_MESSAGE", result.error, "the body");
  return result.data;
}

/** A request's query as a poll, or FEED_BAD_QUERY naming the parameter at fault. */
export function parsePollQuery(query: unknown): PollQuery {
  const result = pollQuerySchema.safeParse(query);
  if (!result.success) throw refusal("FEED_BAD_QUERY", result.error, "the query");
  return result.data;
}

/** A 200 response's JSON as a batch (client side), or FEED_BAD_RESPONSE. */
export function parseBatch(json: unknown): Batch {
  const result = batchSchema.safeParse(json);
  if (!result.success) throw refusal("FEED_BAD_RESPONSE", result.error, "the response");
  return result.data;
}

/** A 410 response's JSON (client side): the oldest id the feed still keeps, or FEED_BAD_RESPONSE. */
export function parseExpired(json: unknown): { oldestId: number } {
  const result = expiredSchema.safeParse(json);
  if (!result.success) throw refusal("FEED_BAD_RESPONSE", result.error, "the response");
  return result.data;
}

/** The first issue zod found, as a FeedError whose message starts with the field's name. */
function refusal(
  code: "FEED_BAD_MESSAGE" | "FEED_BAD_QUERY" | "FEED_BAD_RESPONSE",
  error: z.ZodError,
  whole: string,
): FeedError {
  const issue = error.issues[0];
  const field = issue !== undefined && issue.path.length > 0 ? issue.path.join(".") : undefined;
  const message =
    field === undefined ? `${whole} must be a JSON object` : `${field} ${issue?.message}`;
  // The server answers a refused request with 400; a bad response is the client's to report.
  const status = code === "FEED_BAD_RESPONSE" ? undefined : 400;
  return new FeedError(code, message, { status, field });
}
