import { describe, expect, test } from "vitest";
import { HttpError } from "#lesson/lesson-03-http/parser.ts";
import { errorResponse, json, serializeResponse } from "#lesson/lesson-03-http/response.ts";
import { show } from "../../shared/testing/bytes.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";
import { readResponse } from "./helpers.ts";

// RFC 9110 §5.6.7's example date, pinned so the bytes can be written out in full.
const DATE = new Date("1994-11-06T08:49:37Z");

/**
 * The status line, the field lines sorted by name, and the body of a response. The order of
 * fields with different names is not significant (RFC 9110 §5.3), so a test does not pin it.
 */
function partsOf(bytes: Buffer): { statusLine: string; fieldLines: string[]; body: string } {
  const end = bytes.indexOf("\r\n\r\n");
  expect(end, `${show(bytes)}\nThe head ends with an empty line: CRLF CRLF`).toBeGreaterThan(0);
  const [statusLine = "", ...fieldLines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  return { statusLine, fieldLines: fieldLines.sort(), body: bytes.subarray(end + 4).toString() };
}

describe("Step 2: Write the response", () => {
  test("writes the status line, the header fields it was given and its own, then the body", () => {
    const bytes = serializeResponse(
      { status: 200, headers: { "Content-Type": "text/plain" }, body: "hello" },
      { date: DATE },
    );
    expect(partsOf(bytes), show(bytes)).toEqual({
      statusLine: "HTTP/1.1 200 OK",
      fieldLines: [
        "Connection: close",
        "Content-Length: 5",
        "Content-Type: text/plain",
        "Date: Sun, 06 Nov 1994 08:49:37 GMT",
      ],
      body: "hello",
    });
  });

  test.each(["Content-Length", "content-length"])(
    "writes its own Content-Length once, in place of a given %s field",
    (name) => {
      const bytes = serializeResponse(
        { status: 200, headers: { [name]: "999" }, body: "hi" },
        { date: DATE },
      );
      const lengths = partsOf(bytes).fieldLines.filter((line) => /^content-length:/i.test(line));
      expect(
        lengths,
        `The writer counts the body: a Content-Length among the given fields is left out, or the ` +
          `response carries two, which a client must refuse (RFC 9112 §6.3). Got ${show(bytes)}`,
      ).toEqual(["Content-Length: 2"]);
    },
  );

  test("writes the connection fields it is given in place of Connection: close", () => {
    // What a persistent server (lesson 04) sends: the connection stays open.
    const connection = { Connection: "keep-alive", "Keep-Alive": "timeout=5" };
    const bytes = serializeResponse({ status: 200, body: "ok" }, { date: DATE, connection });
    expect(partsOf(bytes), show(bytes)).toEqual({
      statusLine: "HTTP/1.1 200 OK",
      fieldLines: [
        "Connection: keep-alive",
        "Content-Length: 2",
        "Date: Sun, 06 Nov 1994 08:49:37 GMT",
        "Keep-Alive: timeout=5",
      ],
      body: "ok",
    });
  });

  test("counts Content-Length in bytes, not characters, for non-ASCII JSON", () => {
    const value = { name: "Zoë Ångström", bio: "—" };
    const text = JSON.stringify(value);
    const response = readResponse(serializeResponse(json(200, value)));
    expect(
      response.headers["content-length"],
      `${show(response.bytes)}\nContent-Length must be the number of bytes in the body`,
    ).toBe(String(Buffer.byteLength(text)));
    expect(response.body.toString("utf8")).toBe(text);
  });

  test("sends JSON as application/json", () => {
    const response = readResponse(serializeResponse(json(404, { error: "nope" })));
    expect(response.statusLine).toBe("HTTP/1.1 404 Not Found");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(response.body.toString())).toEqual({ error: "nope" });
  });

  test("dates the response now, as an IMF-fixdate (RFC 9110 §5.6.7)", () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const date = readResponse(serializeResponse({ status: 200 })).headers["date"] ?? "";
    // IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
    const day = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
    const month = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
    expect(date).toMatch(new RegExp(`^${day}, \\d\\d ${month} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT$`));
    expect(Date.parse(date)).toBeGreaterThanOrEqual(before);
  });

  test("answers HEAD with the same header fields as GET and no body (RFC 9110 §9.3.2)", () => {
    const response = json(200, { name: "Zoë" });
    const get = serializeResponse(response, { date: DATE });
    const head = serializeResponse(response, { date: DATE, head: true });
    const headOfGet = get.subarray(0, get.indexOf("\r\n\r\n") + 4);
    expect(show(head), "the HEAD response is exactly the head of the GET response").toBe(
      show(headOfGet),
    );
    expect(readResponse(head).headers["content-length"]).toBe(
      String(Buffer.byteLength('{"name":"Zoë"}')),
    );
  });

  test("refuses a status code it has no reason phrase for, naming it", () => {
    const error = thrownBy(() => serializeResponse({ status: 999 }));
    expect(codeOf(error), "a status code with no reason phrase").toBe("HTTP_INVALID_STATUS");
    expect(String(error), "the message names the bad value").toContain("999");
  });

  test("refuses a header value with CR or LF, which would inject header lines", () => {
    const splitting = { status: 201, headers: { Location: "/x\r\nSet-Cookie: stolen=1" } };
    const error = thrownBy(() => serializeResponse(splitting));
    expect(codeOf(error), "a CR LF inside a header value (response splitting)").toBe(
      "HTTP_INVALID_FIELD",
    );
  });

  test.each([
    ["a name with a space", { "X Note": "a" }],
    ["a name with a colon", { "X:Note": "a" }],
    ["a bare LF in a value", { "X-Note": "a\nb" }],
    ["a NUL in a value", { "X-Note": "a\0b" }],
  ])("refuses a header field with %s (RFC 9112 §11.1)", (_, headers) => {
    const error = thrownBy(() => serializeResponse({ status: 200, headers }));
    expect(codeOf(error), JSON.stringify(headers)).toBe("HTTP_INVALID_FIELD");
  });

  test("answers a parser error with its status, and names the code in the body", () => {
    const error = new HttpError("HTTP_HEADERS_TOO_LARGE", "The header section is too large");
    const response = readResponse(serializeResponse(errorResponse(error)));
    expect(response.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(response.headers["connection"]).toBe("close");
    expect(JSON.parse(response.body.toString())).toMatchObject({ code: "HTTP_HEADERS_TOO_LARGE" });
  });
});
