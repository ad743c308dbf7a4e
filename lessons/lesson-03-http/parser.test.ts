import { describe, expect, test } from "vitest";
import {
  HttpError,
  MAX_BODY_BYTES,
  MAX_CHUNK_LINE_BYTES,
  MAX_HEADER_BYTES,
  RequestParser,
  type HttpRequest,
} from "#lesson/lesson-03-http/parser.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { byteByByte, crlf, feedAll, splitAt } from "../../shared/testing/chunks.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";
import { refusal } from "./helpers.ts";

/** Parses chunks with a fresh parser and fails, showing the bytes, unless one request comes out. */
function parseOne(chunks: Buffer[]): HttpRequest {
  const requests = feedAll(new RequestParser(), chunks);
  expect(
    requests.length,
    explain(
      `Expected one request from ${chunks.length} chunk(s)`,
      Buffer.concat(chunks),
      "1 request",
      `${requests.length} request(s)`,
    ),
  ).toBe(1);
  return requests[0] as HttpRequest;
}

/** Fails unless the parser refuses the bytes with this code and status. */
function expectRefused(sent: Buffer | Buffer[], code: string, status: number): void {
  const parser = new RequestParser();
  let error: unknown;
  try {
    feedAll(parser, [sent].flat());
  } catch (thrown) {
    error = thrown;
  }
  expect(error, refusal(sent, `HttpError ${code} (${status})`, error)).toBeInstanceOf(HttpError);
  expect(error, refusal(sent, `HttpError ${code} (${status})`, error)).toMatchObject({
    code,
    status,
  });
}

const GET = crlf("GET /profile/123 HTTP/1.1\nHost: example.com\nAccept: */*\n\n");

describe("Step 1: Parse the request line and the header fields", () => {
  test("parses a GET request into method, target, version, header fields and an empty body", () => {
    expect(parseOne([GET]), show(GET)).toEqual({
      method: "GET",
      target: "/profile/123",
      version: "HTTP/1.1",
      headers: { host: "example.com", accept: "*/*" },
      body: Buffer.alloc(0),
    });
  });

  test("lowercases field names and trims the optional whitespace around a value", () => {
    const sent = crlf("GET / HTTP/1.1\nHOST:example.com\nX-Note: \t spaced out \t\n\n");
    expect(parseOne([sent]).headers, show(sent)).toEqual({
      host: "example.com",
      "x-note": "spaced out",
    });
  });

  test("combines repeated field lines into one value, in order, separated by a comma", () => {
    const sent = crlf("GET / HTTP/1.1\nHost: x\nAccept: text/html\naccept: application/json\n\n");
    expect(parseOne([sent]).headers["accept"], show(sent)).toBe("text/html, application/json");
  });

  test.each(["__proto__", "constructor", "Constructor"])(
    "keeps a field named %s as ordinary data (names from the wire are not object properties)",
    (name) => {
      const sent = crlf(`GET / HTTP/1.1\nHost: x\n${name}: a\n\n`);
      const { headers } = parseOne([sent]);
      const key = name.toLowerCase();
      expect(
        [Object.keys(headers).includes(key), headers[key]],
        `${show(sent)}: the ${name} field should read back as "a"; keep header fields in a ` +
          "Map or an Object.create(null) record, not a plain {} whose prototype has these names",
      ).toEqual([true, "a"]);
      expect(headers["x-unset"], "a field that was not sent").toBeUndefined();
    },
  );

  test("returns no request until the empty line that ends the head has arrived", () => {
    const parser = new RequestParser();
    const head = GET.subarray(0, GET.length - 2);
    expect(parser.feed(head), `${show(head)} has no empty line yet: need more bytes`).toEqual([]);
    expect(parser.feed(Buffer.from("\r\n"))).toHaveLength(1);
  });

  const boundaries: [string, number][] = [
    ["inside the method", 2],
    ["inside the request-target", 10],
    ["between the CR and the LF of the request line", GET.indexOf("\r\n") + 1],
    ["inside a field name", GET.indexOf("Host") + 2],
    ["between a field name and its colon", GET.indexOf(":")],
    ["inside a field value", GET.indexOf("example") + 3],
    ["between the CR and the LF of the empty line", GET.length - 1],
  ];
  test.each(boundaries)("parses the same request when a chunk ends %s", (_, offset) => {
    const chunks = splitAt(GET, offset);
    expect(parseOne(chunks), `chunks: ${chunks.map((c) => show(c)).join(" | ")}`).toEqual(
      parseOne([GET]),
    );
  });

  test("parses the same request when it arrives one byte at a time", () => {
    expect(parseOne(byteByByte(GET))).toEqual(parseOne([GET]));
  });

  test("returns two requests written in one chunk", () => {
    const two = Buffer.concat([GET, crlf("HEAD /profile/124 HTTP/1.1\nHost: x\n\n")]);
    const requests = feedAll(new RequestParser(), [two]);
    expect(
      requests.map((r) => `${r.method} ${r.target}`),
      show(two),
    ).toEqual(["GET /profile/123", "HEAD /profile/124"]);
  });

  test("ignores an empty line before the request line (RFC 9112 §2.2)", () => {
    expect(parseOne([Buffer.from("\r\n"), GET]).target).toBe("/profile/123");
  });

  test("ignores an empty line before the request line in the same chunk, and between requests", () => {
    const sent = Buffer.concat([Buffer.from("\r\n"), GET, Buffer.from("\r\n"), GET]);
    const requests = feedAll(new RequestParser(), [sent]);
    expect(
      requests.map((r) => r.target),
      show(sent),
    ).toEqual(["/profile/123", "/profile/123"]);
  });

  test("keeps the requests completed before a malformed one in the same chunk", () => {
    // The same bytes in two chunks would give the first request, then the error: the outcome
    // must not depend on where the chunks end.
    const sent = Buffer.concat([GET, crlf("GET /profile 123 HTTP/1.1\nHost: x\n\n")]);
    const parser = new RequestParser();
    const error = thrownBy(() => feedAll(parser, [sent]));
    expect(error, refusal(sent, "HttpError HTTP_BAD_REQUEST_LINE (400)", error)).toMatchObject({
      code: "HTTP_BAD_REQUEST_LINE",
    });
    expect(
      parser.completedBeforeError.map((r) => `${r.method} ${r.target}`),
      `${show(sent)}: the first request was whole before the bad request line`,
    ).toEqual(["GET /profile/123"]);
  });

  test("accepts an HTTP/1.0 request without Host", () => {
    expect(parseOne([crlf("GET /profile/123 HTTP/1.0\n\n")]).version).toBe("HTTP/1.0");
  });

  test.each([
    ["two parts", "GET /profile/123"],
    ["two spaces between parts", "GET  /profile/123 HTTP/1.1"],
    ["a space inside the target", "GET /profile 123 HTTP/1.1"],
    ["a method that is not a token", "GE(T /profile/123 HTTP/1.1"],
    ["a lowercase protocol name", "GET /profile/123 http/1.1"],
    ["a version without a minor digit", "GET /profile/123 HTTP/1"],
    ["a version with two minor digits", "GET /profile/123 HTTP/1.10"],
    ["a version with a prefix", "GET /profile/123 XHTTP/1.1"],
    ["a fourth part", "GET /profile/123 HTTP/1.1 extra"],
    ["a DEL byte at the start of the target", "GET \x7f/profile/123 HTTP/1.1"],
    ["a DEL byte at the end of the target", "GET /profile/123\x7f HTTP/1.1"],
    ["a control byte inside the target", "GET /profile/1\x0123 HTTP/1.1"],
    ["a tab inside the target", "GET /profile/1\t23 HTTP/1.1"],
    ["a non-ASCII byte inside the target", "GET /caf\xe9 HTTP/1.1"],
    ["a byte over 0x7F at the end of the target", "GET /profile/123\xa0 HTTP/1.1"],
  ])("refuses a request line with %s (400)", (_, line) => {
    // latin1: each character is the one byte it names, so "\xe9" is the byte E9.
    const sent = Buffer.from(`${line}\r\nHost: x\r\n\r\n`, "latin1");
    expectRefused(sent, "HTTP_BAD_REQUEST_LINE", 400);
  });

  test("reads the head as latin1, one character per byte, not as UTF-8", () => {
    // E9 alone is no UTF-8 (a decoder makes it U+FFFD); C3 A9 is "é" in UTF-8, two bytes that
    // latin1 reads as the two characters "Ã©". The checks of the head are checks on bytes.
    const sent = Buffer.from(
      "GET / HTTP/1.1\r\nHost: x\r\nX-One: caf\xe9\r\nX-Two: caf\xc3\xa9\r\n\r\n",
      "latin1",
    );
    const { headers } = parseOne([sent]);
    expect(
      [headers["x-one"], headers["x-two"]],
      `Decode the lines of the head as latin1 (Buffer's "latin1"), one character per byte. ` +
        `Sent ${show(sent)}`,
    ).toEqual(["caf\u00e9", "caf\u00c3\u00a9"]);
  });

  test("treats HTTP/1.2 as HTTP/1.1, the highest minor version it implements (RFC 9110 §2.5)", () => {
    const request = parseOne([crlf("GET / HTTP/1.2\nHost: x\n\n")]);
    expect(
      request.version,
      "RFC 9110 §2.5: a message with a higher minor version is processed as if it were in the " +
        "highest minor version the recipient implements; only another major version is 505",
    ).toBe("HTTP/1.1");
  });

  test("refuses HTTP/2.0 in an HTTP/1 request line with 505", () => {
    expectRefused(crlf("GET / HTTP/2.0\nHost: x\n\n"), "HTTP_VERSION_NOT_SUPPORTED", 505);
  });

  test("refuses a request line that ends in a bare LF: this parser requires CRLF", () => {
    expectRefused(Buffer.from("GET / HTTP/1.1\nHost: x\r\n\r\n"), "HTTP_BARE_LF", 400);
  });

  test("refuses a header line that ends in a bare LF", () => {
    expectRefused(Buffer.from("GET / HTTP/1.1\r\nHost: x\n\r\n"), "HTTP_BARE_LF", 400);
  });

  test.each([
    ["whitespace between the field name and the colon", "Host : x"],
    ["a field name with a character outside tchar", "Ho@st: x"],
    ["no colon at all", "Host x"],
    ["no colon, only a name", "X-Note"],
    ["an empty field name", ": x"],
    ["a bare CR inside the value", "X-Note: a\rb"],
    ["a NUL byte inside the value", "X-Note: a\0b"],
  ])("refuses a header line with %s (400)", (_, line) => {
    expectRefused(crlf(`GET / HTTP/1.1\nHost: x\n${line}\n\n`), "HTTP_BAD_HEADER", 400);
  });

  test.each([
    ["a space", "  continued"],
    ["a tab", "\tcontinued"],
  ])("refuses obsolete line folding, a line that starts with %s (RFC 9112 §5.2)", (_, line) => {
    expectRefused(crlf(`GET / HTTP/1.1\nHost: x\nX-Note: a\n${line}\n\n`), "HTTP_OBS_FOLD", 400);
  });

  test("refuses an HTTP/1.1 request without Host (RFC 9112 §3.2)", () => {
    expectRefused(crlf("GET /profile/123 HTTP/1.1\nAccept: */*\n\n"), "HTTP_BAD_HOST", 400);
  });

  test("refuses a request with two Host lines", () => {
    expectRefused(
      crlf("GET / HTTP/1.1\nHost: a.example\nHost: b.example\n\n"),
      "HTTP_BAD_HOST",
      400,
    );
  });

  test("accepts one Host line whose value holds a comma: lines count, not commas", () => {
    const sent = crlf("GET / HTTP/1.1\nHost: a.example,b.example\n\n");
    const request = parseOne([sent]);
    expect(
      request.headers["host"],
      "One Host line is one Host, whatever its value (a reg-name may contain a comma, RFC 3986 " +
        "§3.2.2): tell two lines from one with `repeated`, the names seen on more than one line",
    ).toBe("a.example,b.example");
  });

  test("counts Host lines per request: one in each of two requests is fine, two in one is not", () => {
    const parser = new RequestParser();
    expect(parser.feed(crlf("GET / HTTP/1.1\nHost: a\nAccept: x\nAccept: y\n\n"))).toHaveLength(1);
    // The next head starts with no repeated names, and finds its own.
    expect(parser.feed(crlf("GET / HTTP/1.1\nHost: a\n\n"))).toHaveLength(1);
    expect(codeOf(thrownBy(() => parser.feed(crlf("GET / HTTP/1.1\nHost: a\nHost: b\n\n"))))).toBe(
      "HTTP_BAD_HOST",
    );
  });

  /** A request whose head is exactly `size` bytes long, padded with an X-Pad header. */
  function headOf(size: number): Buffer {
    const start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    return Buffer.from(`${start}${"a".repeat(size - start.length - 4)}\r\n\r\n`);
  }

  test(`accepts a head of exactly MAX_HEADER_BYTES (${MAX_HEADER_BYTES}) bytes`, () => {
    expect(parseOne([headOf(MAX_HEADER_BYTES)]).headers["x-pad"]).toHaveLength(
      MAX_HEADER_BYTES - 36,
    );
  });

  test("refuses a head one byte over MAX_HEADER_BYTES with 431", () => {
    expectRefused(headOf(MAX_HEADER_BYTES + 1), "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("refuses an endless header line at the cap, without waiting for its LF", () => {
    const start = crlf("GET / HTTP/1.1\nHost: x\nX-Pad: ");
    const endless = Array.from({ length: 20 }, () => Buffer.alloc(1024, "a"));
    expectRefused([start, ...endless], "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("counts the empty lines it skips against the cap: an endless run of CRLFs is refused", () => {
    const sent = Buffer.from("\r\n".repeat(MAX_HEADER_BYTES / 2 + 1), "latin1");
    expectRefused(sent, "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("refuses a head over the cap that arrives in one chunk with no LF at all", () => {
    const sent = Buffer.concat([
      crlf("GET / HTTP/1.1\nHost: x\nX-Pad: "),
      Buffer.alloc(MAX_HEADER_BYTES, "a"),
    ]);
    expectRefused(sent, "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("keeps refusing after an error: the rest of the stream has no meaning", () => {
    const parser = new RequestParser();
    // A bad request line leaves the parser before the next request line: the GET after it would
    // parse, were the parser not done.
    const bad = crlf("GET / HTTP/1.1 x\n");
    expect(parser.completedBeforeError, "no error yet, so nothing before it").toEqual([]);
    expect(codeOf(thrownBy(() => parser.feed(bad)))).toBe("HTTP_BAD_REQUEST_LINE");
    expect(parser.completedBeforeError, "nothing was complete before the error").toEqual([]);
    expect(
      codeOf(thrownBy(() => parser.feed(GET))),
      "a parser that failed once refuses everything after",
    ).toBe("HTTP_BAD_REQUEST_LINE");
  });
});

describe("Step 4: Read the body: Content-Length and chunked", () => {
  test("reads Content-Length bytes of body, counting bytes, not characters", () => {
    // "Zoë" is 3 characters and 4 bytes: ë is C3 AB in UTF-8.
    const sent = crlf('POST /profile HTTP/1.1\nHost: x\nContent-Length: 15\n\n{"name":"Zoë"}');
    expect(parseOne([sent]).body.toString("utf8"), show(sent)).toBe('{"name":"Zoë"}');
  });

  test("returns no request until the whole body has arrived", () => {
    const parser = new RequestParser();
    const sent = crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 10\n\n01234");
    expect(parser.feed(sent), `${show(sent)}: 5 of 10 body bytes, need more`).toEqual([]);
    expect(parser.feed(Buffer.from("56789"))[0]?.body.toString()).toBe("0123456789");
  });

  test("parses the same body when a chunk ends inside it", () => {
    const sent = crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 10\n\n0123456789");
    expect(parseOne(splitAt(sent, sent.length - 3)).body.toString()).toBe("0123456789");
  });

  test("parses a body that arrives one byte at a time", () => {
    const sent = crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 10\n\n0123456789");
    expect(parseOne(byteByByte(sent)).body.toString()).toBe("0123456789");
  });

  test("treats the bytes after a body as the start of the next request", () => {
    const first = crlf("POST /profile HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc");
    const both = Buffer.concat([first, GET]);
    const requests = feedAll(new RequestParser(), [both]);
    expect(
      requests.map((r) => [r.method, r.body.toString()]),
      show(both),
    ).toEqual([
      ["POST", "abc"],
      ["GET", ""],
    ]);
  });

  test("says where the bytes so far stop: between requests, in a head, or in a body", () => {
    const parser = new RequestParser();
    const steps = [
      ["\r\n", "between"], // an empty line before a request line is ignored
      ["POST /profile HT", "head"],
      ["TP/1.1\r\nHost: x\r\nContent-Length: 3\r\n", "head"],
      ["\r\na", "body"],
      ["bc", "between"],
      ["G", "head"],
    ] as const;
    for (const [bytes, phase] of steps) {
      parser.feed(Buffer.from(bytes, "latin1"));
      expect(parser.phase, `after feeding ${show(Buffer.from(bytes, "latin1"))}`).toBe(phase);
    }
  });

  test("gives a request with neither Content-Length nor Transfer-Encoding an empty body", () => {
    expect(parseOne([crlf("POST /profile HTTP/1.1\nHost: x\n\n")]).body).toEqual(Buffer.alloc(0));
  });

  test("accepts the same Content-Length repeated (RFC 9110 §8.6)", () => {
    const sent = crlf("POST / HTTP/1.1\nHost: x\nContent-Length: 3\nContent-Length: 3\n\nabc");
    expect(parseOne([sent]).body.toString()).toBe("abc");
  });

  // RFC 9112 §7.1: hex sizes, a chunk extension that is ignored, a last-chunk, a trailer field.
  // Written with explicit CRLFs: the third chunk's data contains CRLFs of its own.
  const CHUNKED = Buffer.from(
    "POST /profile HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "4\r\nWiki\r\n" +
      "6;note=ignored\r\npedia \r\n" +
      "E\r\nin \r\n\r\nchunks.\r\n" +
      "0\r\n" +
      "Expires: never\r\n" +
      "\r\n",
  );
  const WIKIPEDIA = "Wikipedia in \r\n\r\nchunks.";

  test("decodes a chunked body, ignoring chunk extensions and trailer fields", () => {
    const request = parseOne([CHUNKED]);
    expect(request.body.toString(), show(CHUNKED)).toBe(WIKIPEDIA);
    expect(request.headers["expires"], "trailer fields are not header fields").toBeUndefined();
  });

  test("checks and ignores chunk extensions, quoted-string values included (RFC 9112 §7.1.1)", () => {
    const extensions = ';a="I \\"love\\"; \\\\extensions\\\\";b = "";flag;c=token';
    const sent = crlf(
      `POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n5${extensions}\nhello\n0;end\n\n`,
    );
    expect(parseOne([sent]).body.toString(), show(sent)).toBe("hello");
  });

  test.each(["Chunked", "CHUNKED"])(
    "reads Transfer-Encoding: %s as chunked: coding names are case-insensitive (RFC 9112 §7)",
    (coding) => {
      const sent = crlf(
        `POST / HTTP/1.1\nHost: x\nTransfer-Encoding: ${coding}\n\n5\nhello\n0\n\n`,
      );
      const requests = feedAll(new RequestParser(), [sent]);
      expect(
        requests.map((r) => r.body.toString()),
        `${show(sent)}: "${coding}" names the chunked coding; compare coding names ignoring case`,
      ).toEqual(["hello"]);
    },
  );

  test.each([
    ["a trailer line with no colon", "Expires never"],
    ["a trailer field name with whitespace before the colon", "Expires : never"],
    ["a trailer line that starts with whitespace (obs-fold)", " Expires: never"],
    ["a NUL byte in a trailer value", "Expires: ne\0ver"],
  ])("refuses %s: trailer fields follow the field-line grammar (RFC 9112 §7.1.2)", (_, line) => {
    const sent = crlf(
      `POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n2\nab\n0\n${line}\n\n`,
    );
    const parser = new RequestParser();
    const error = thrownBy(() => feedAll(parser, [sent]));
    expect(
      error,
      refusal(sent, "HttpError HTTP_BAD_HEADER or HTTP_OBS_FOLD (400)", error),
    ).toMatchObject({ status: 400 });
    expect(
      ["HTTP_BAD_HEADER", "HTTP_OBS_FOLD"],
      refusal(sent, "HTTP_BAD_HEADER or HTTP_OBS_FOLD", error),
    ).toContain((error as { code?: string } | undefined)?.code);
  });

  test(`refuses a trailer section over MAX_HEADER_BYTES (${MAX_HEADER_BYTES}) with 431`, () => {
    const start = crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n2\nab\n0\n");
    // Many short trailer lines, each well formed: only their total is over the cap.
    const trailers = Array.from({ length: MAX_HEADER_BYTES / 16 + 1 }, (_, i) =>
      crlf(`X-T${String(i).padStart(5, "0")}: abcde\n`),
    );
    expectRefused([start, ...trailers, crlf("\n")], "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("gives the trailer section a cap of its own: a full head does not shrink it", () => {
    const pad = "a".repeat(MAX_HEADER_BYTES - 100);
    const sent = crlf(
      `POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nX-Pad: ${pad}\n\n` +
        `2\nab\n0\nX-Trailer: ${"b".repeat(200)}\n\n`,
    );
    let requests: HttpRequest[] = [];
    let error: unknown;
    try {
      requests = new RequestParser().feed(sent);
    } catch (thrown) {
      error = thrown;
    }
    expect(
      error,
      `A head of ${MAX_HEADER_BYTES - 100 + 60} bytes and a trailer section of about 215: each is ` +
        `under MAX_HEADER_BYTES (${MAX_HEADER_BYTES}), and the trailer section is counted from ` +
        "zero, as a head of its own, not added to the head",
    ).toBeUndefined();
    expect(requests.map((request) => request.body.toString())).toEqual(["ab"]);
  });

  test('says "body" while the trailer section arrives, and "between" once it ends', () => {
    const parser = new RequestParser();
    parser.feed(crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n2\nab\n0\n"));
    expect(parser.phase, "after the last-chunk, before the trailer section").toBe("body");
    parser.feed(crlf("X-Trailer: 1\n"));
    expect(
      parser.phase,
      "in the trailer section: it belongs to the message's body (RFC 9112 §7.1.2), not to a head",
    ).toBe("body");
    parser.feed(crlf("\n"));
    expect(parser.phase, "after the empty line that ends the trailer section").toBe("between");
  });

  test.each([
    ["a bare LF", "3\r\nabc\n0\r\n\r\n"],
    ["no line end at all", "3\r\nabcd\r\n0\r\n\r\n"],
  ])("refuses chunk data followed by %s instead of CRLF", (_, body) => {
    const sent = Buffer.from(
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
      "latin1",
    );
    const error = thrownBy(() => new RequestParser().feed(sent));
    expect(
      error,
      refusal(sent, "HttpError HTTP_BAD_CHUNK or HTTP_BARE_LF (400): CRLF ends chunk data", error),
    ).toBeInstanceOf(HttpError);
    expect(["HTTP_BAD_CHUNK", "HTTP_BARE_LF"], refusal(sent, "400", error)).toContain(
      codeOf(error),
    );
  });

  test("refuses an endless trailer line at the header cap, without waiting for its LF", () => {
    const start = crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n0\nX-Pad: ");
    const endless = Array.from({ length: 20 }, () => Buffer.alloc(1024, "a"));
    expectRefused([start, ...endless], "HTTP_HEADERS_TOO_LARGE", 431);
  });

  test("reads upper- and lowercase hex chunk sizes with leading zeros", () => {
    const body = "a".repeat(0x1a) + "b".repeat(0xaf);
    const sent = Buffer.concat([
      crlf("PUT / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n"),
      crlf(`001A\n${"a".repeat(0x1a)}\n00af\n${"b".repeat(0xaf)}\n0\n\n`),
    ]);
    expect(parseOne([sent]).body.toString()).toBe(body);
  });

  const chunkedBoundaries: [string, number][] = [
    ["inside the header section", 20],
    ["right after the head", CHUNKED.indexOf("4\r\n")],
    ["between the CR and the LF after a chunk size", CHUNKED.indexOf("4\r\n") + 2],
    ["inside a chunk extension", CHUNKED.indexOf("note") + 2],
    ["inside chunk data", CHUNKED.indexOf("Wiki") + 2],
    ["between chunk data and its CRLF", CHUNKED.indexOf("Wiki") + 4],
    ["inside a CRLF that is chunk data", CHUNKED.indexOf("in \r\n") + 4],
    ["inside the last-chunk", CHUNKED.indexOf("0\r\nExpires") + 1],
    ["inside a trailer field", CHUNKED.indexOf("Expires") + 3],
    ["before the final LF", CHUNKED.length - 1],
  ];
  test.each(chunkedBoundaries)("decodes the same chunked body when a chunk ends %s", (_, at) => {
    const chunks = splitAt(CHUNKED, at);
    expect(
      parseOne(chunks).body.toString(),
      `chunks: ${chunks.map((c) => show(c)).join(" | ")}`,
    ).toBe(WIKIPEDIA);
  });

  test("decodes a chunked body that arrives one byte at a time", () => {
    expect(parseOne(byteByByte(CHUNKED)).body.toString()).toBe(WIKIPEDIA);
  });

  test("treats the bytes after the last-chunk and trailer section as the next request", () => {
    const both = Buffer.concat([CHUNKED, GET]);
    const requests = feedAll(new RequestParser(), [both]);
    expect(
      requests.map((r) => [r.method, r.body.toString()]),
      show(both),
    ).toEqual([
      ["POST", WIKIPEDIA],
      ["GET", ""],
    ]);
  });

  test("keeps a UTF-8 character intact when it is split across two chunks", () => {
    // "ë" is C3 AB; the first chunk ends after C3.
    const name = Buffer.from("Zoë");
    const sent = Buffer.concat([
      crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\n"),
      name.subarray(0, 3),
      crlf("\n1\n"),
      name.subarray(3),
      crlf("\n0\n\n"),
    ]);
    expect(parseOne([sent]).body, show(sent)).toEqual(name);
  });

  test("refuses a request with both Content-Length and Transfer-Encoding (RFC 9112 §6.1)", () => {
    const smuggle = crlf(
      "POST / HTTP/1.1\nHost: x\nContent-Length: 6\nTransfer-Encoding: chunked\n\n0\n\nX",
    );
    expectRefused(smuggle, "HTTP_CONFLICTING_FRAMING", 400);
  });

  test("refuses two different Content-Length values (RFC 9112 §6.3)", () => {
    const sent = crlf("POST / HTTP/1.1\nHost: x\nContent-Length: 3\nContent-Length: 30\n\nabc");
    expectRefused(sent, "HTTP_BAD_CONTENT_LENGTH", 400);
  });

  test.each(["-1", "+3", "3.0", "0x3", "three", "", "3 3", "99999999999999999999"])(
    "refuses the invalid Content-Length %j",
    (value) => {
      const sent = crlf(`POST / HTTP/1.1\nHost: x\nContent-Length: ${value}\n\nabc`);
      expectRefused(sent, "HTTP_BAD_CONTENT_LENGTH", 400);
    },
  );

  test.each([
    ["gzip", "HTTP_BAD_TRANSFER_ENCODING", 400],
    ["chunked, gzip", "HTTP_BAD_TRANSFER_ENCODING", 400],
    ["chunked, chunked", "HTTP_BAD_TRANSFER_ENCODING", 400],
    ["gzip, chunked", "HTTP_UNSUPPORTED_TRANSFER_CODING", 501],
  ])("refuses Transfer-Encoding: %s as %s (%d)", (value, code, status) => {
    const sent = crlf(`POST / HTTP/1.1\nHost: x\nTransfer-Encoding: ${value}\n\n0\n\n`);
    expectRefused(sent, code, status);
  });

  test("refuses Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)", () => {
    const sent = crlf("POST / HTTP/1.0\nTransfer-Encoding: chunked\n\n0\n\n");
    expectRefused(sent, "HTTP_BAD_TRANSFER_ENCODING", 400);
  });

  test.each([
    ["a chunk size that is not hex", "xyz\nabc\n0\n\n"],
    ["an empty chunk-size line", "\nabc\n0\n\n"],
    ["a negative chunk size", "-3\nabc\n0\n\n"],
    ["chunk data longer than its size", "3\nabcd\n0\n\n"],
    ["text after the size without a semicolon", "2 xyz\nab\n0\n\n"],
    ["whitespace after the size without an extension", "2 \nab\n0\n\n"],
    ["a semicolon without an extension name", "2;\nab\n0\n\n"],
    ["an extension name that is not a token", "2;a@b\nab\n0\n\n"],
    ["an extension with = and no value", "2;a=\nab\n0\n\n"],
    ["an unclosed quoted-string in an extension", '2;a="b; c\nab\n0\n\n'],
  ])("refuses %s", (_, body) => {
    const sent = crlf(`POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n${body}`);
    expectRefused(sent, "HTTP_BAD_CHUNK", 400);
  });

  test(`refuses a chunk-size line over MAX_CHUNK_LINE_BYTES (${MAX_CHUNK_LINE_BYTES})`, () => {
    const extension = `;x=${"a".repeat(MAX_CHUNK_LINE_BYTES)}`;
    const sent = crlf(`POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3${extension}\n`);
    expectRefused(sent, "HTTP_BAD_CHUNK", 400);
  });

  test(`refuses a Content-Length over MAX_BODY_BYTES (${MAX_BODY_BYTES}) at once, with 413`, () => {
    const sent = crlf(`POST / HTTP/1.1\nHost: x\nContent-Length: ${MAX_BODY_BYTES + 1}\n\n`);
    expectRefused(sent, "HTTP_BODY_TOO_LARGE", 413);
  });

  test("accepts a body of exactly MAX_BODY_BYTES", () => {
    const sent = Buffer.concat([
      crlf(`POST / HTTP/1.1\nHost: x\nContent-Length: ${MAX_BODY_BYTES}\n\n`),
      Buffer.alloc(MAX_BODY_BYTES, "a"),
    ]);
    expect(parseOne([sent]).body.length).toBe(MAX_BODY_BYTES);
  });

  test("accepts chunks that add up to exactly MAX_BODY_BYTES", () => {
    const half = (MAX_BODY_BYTES / 2).toString(16);
    const chunk = Buffer.concat([crlf(`${half}\n`), Buffer.alloc(MAX_BODY_BYTES / 2), crlf("\n")]);
    const head = crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n");
    expect(parseOne([head, chunk, chunk, crlf("0\n\n")]).body.length).toBe(MAX_BODY_BYTES);
  });

  test("refuses chunks that add up to more than MAX_BODY_BYTES with 413", () => {
    const half = (MAX_BODY_BYTES / 2).toString(16);
    const chunk = Buffer.concat([crlf(`${half}\n`), Buffer.alloc(MAX_BODY_BYTES / 2), crlf("\n")]);
    const sent = [
      crlf("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n"),
      chunk,
      chunk,
      crlf("1\n"),
    ];
    expectRefused(sent, "HTTP_BODY_TOO_LARGE", 413);
  });
});
