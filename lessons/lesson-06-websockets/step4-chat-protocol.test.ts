import { describe, expect, test } from "vitest";
import {
  ChatError,
  MAX_CLIENT_ID_LENGTH,
  MAX_ROOM_LENGTH,
  MAX_TEXT_LENGTH,
  parseClientMessage,
  parseServerMessage,
} from "#lesson/lesson-06-websockets/chat-protocol.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";

const SAY = { type: "say", room: "lobby", client: "c-1_A", seq: 1, text: "hi" };

/** The ChatError parseClientMessage() throws for `message` (an object is sent as JSON). */
function refused(message: unknown): ChatError {
  const text = typeof message === "string" ? message : JSON.stringify(message);
  let returned: unknown;
  try {
    returned = parseClientMessage(text);
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error; // an unwritten stub, or something that is not a ChatError: show it as it is
  }
  throw new Error(
    `parseClientMessage(${JSON.stringify(text).slice(0, 100)}) must refuse it with a ChatError, ` +
      `but returned ${JSON.stringify(returned)?.slice(0, 100)}`,
  );
}

describe("Step 4: A chat on the ws package", () => {
  test("parseClientMessage returns each valid message as it is", () => {
    expect(parseClientMessage(JSON.stringify(SAY))).toEqual(SAY);
    expect(parseClientMessage('{"type":"join","room":"lobby"}')).toEqual({
      type: "join",
      room: "lobby",
    });
    expect(parseClientMessage('{"type":"join","room":"lobby","after":0}')).toEqual({
      type: "join",
      room: "lobby",
      after: 0,
    });
    expect(parseClientMessage('{"type":"leave","room":"lobby"}')).toEqual({
      type: "leave",
      room: "lobby",
    });
    const longest = {
      ...SAY,
      room: "r".repeat(MAX_ROOM_LENGTH),
      client: "c".repeat(MAX_CLIENT_ID_LENGTH),
      seq: Number.MAX_SAFE_INTEGER,
      text: "t".repeat(MAX_TEXT_LENGTH),
    };
    expect(parseClientMessage(JSON.stringify(longest)), "every field at its cap").toEqual(longest);
  });

  test("parseClientMessage names the field at fault, and the message starts with it", () => {
    const cases: [message: unknown, field: string][] = [
      [{ ...SAY, room: "" }, "room"],
      [{ ...SAY, room: 5 }, "room"],
      [{ ...SAY, room: "r".repeat(MAX_ROOM_LENGTH + 1) }, "room"],
      [{ ...SAY, client: "" }, "client"],
      [{ ...SAY, client: "a b" }, "client"],
      [{ ...SAY, client: "c".repeat(MAX_CLIENT_ID_LENGTH + 1) }, "client"],
      [{ ...SAY, seq: 0 }, "seq"],
      [{ ...SAY, seq: 1.5 }, "seq"],
      [{ ...SAY, seq: Number.MAX_SAFE_INTEGER + 1 }, "seq"],
      [{ ...SAY, text: "" }, "text"],
      [{ ...SAY, text: "t".repeat(MAX_TEXT_LENGTH + 1) }, "text"],
      [{ type: "join", room: "lobby", after: -1 }, "after"],
      [{ type: "join", room: "lobby", after: 1.5 }, "after"],
      [{ type: "join", room: "lobby", after: Number.MAX_SAFE_INTEGER + 1 }, "after"],
      [{ type: "join", room: "lobby", after: "3" }, "after"],
      [{ room: "lobby" }, "type"],
    ];
    for (const [message, field] of cases) {
      const error = refused(message);
      expect(
        [error.code, error.field],
        `the refusal of ${JSON.stringify(message).slice(0, 80)}`,
      ).toEqual(["CHAT_BAD_MESSAGE", field]);
      expect(error.message.startsWith(`${field} `), `"${error.message}" names ${field} first`).toBe(
        true,
      );
    }
  });

  test("parseClientMessage refuses JSON that is not an object, and text that is not JSON", () => {
    for (const text of ["[1]", "1", "null", '"say"']) {
      const error = refused(text);
      expect([error.code, error.field], `the refusal of ${text}`).toEqual([
        "CHAT_BAD_MESSAGE",
        undefined,
      ]);
      expect(error.message, "no field to name: the message says what the whole is").not.toMatch(
        /^undefined/,
      );
    }
    for (const text of ["", "hello", '{"type":"say"']) {
      const error = refused(text);
      expect(codeOf(error), `the refusal of ${JSON.stringify(text)}`).toBe("CHAT_BAD_JSON");
      expect(error.cause, "the JSON parser's own error, as the cause").toBeInstanceOf(SyntaxError);
    }
  });

  test("parseServerMessage accepts what the server sends, and refuses anything else as CHAT_BAD_RESPONSE", () => {
    const good = [
      { type: "presence", room: "lobby", members: ["ada", "bob"] },
      { type: "message", room: "lobby", id: 3, from: "ada", client: "c1", seq: 7, text: "hi" },
      { type: "ack", client: "c1", seq: 7 },
      { type: "error", code: "CHAT_NOT_A_MEMBER", field: "room", message: "room is not joined" },
      { type: "error", code: "CHAT_HISTORY_GONE", message: "gone" },
    ];
    for (const message of good) {
      expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
    }
    const bad = [
      "not json",
      "[]",
      { type: "hello" },
      { type: "presence", room: "lobby", members: "ada" },
      { type: "presence", members: [] },
      { type: "message", room: "lobby", id: 0, from: "ada", client: "c1", seq: 7, text: "hi" },
      { type: "message", room: "lobby", id: 1.5, from: "ada", client: "c1", seq: 7, text: "hi" },
      { type: "message", room: "lobby", id: 3, from: "ada", client: "c1", seq: 0, text: "hi" },
      { type: "message", room: "lobby", id: 3, from: 1, client: "c1", seq: 7, text: "hi" },
      { type: "message", room: "lobby", id: 3, from: "ada", client: "c1", seq: 7 },
      { type: "ack", client: "c1", seq: -1 },
      { type: "ack", seq: 1 },
      { type: "error", code: "NOPE", message: "x" },
      { type: "error", code: "CHAT_BAD_JSON" },
    ];
    for (const message of bad) {
      const text = typeof message === "string" ? message : JSON.stringify(message);
      expect(codeOf(thrownBy(() => parseServerMessage(text))), `the refusal of ${text}`).toBe(
        "CHAT_BAD_RESPONSE",
      );
    }
  });
});
