import { once } from "node:events";
import net from "node:net";
import { describe, expect, test, vi } from "vitest";
import { createClient } from "#lesson/lesson-01-tcp-sockets/client.ts";
import { LineProtocolError } from "#lesson/lesson-01-tcp-sockets/errors.ts";
import { LineSplitter } from "#lesson/lesson-01-tcp-sockets/lines.ts";
import { respond } from "#lesson/lesson-01-tcp-sockets/protocol.ts";
import { explain, show } from "../../shared/testing/bytes.ts";
import { byteByByte } from "../../shared/testing/chunks.ts";
import { codeOf, rejectionOf, thrownBy } from "../../shared/testing/errors.ts";
import { connect, listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";
import { deferred } from "../../shared/testing/raw.ts";
import {
  closeOf,
  connectTo,
  deliverOverLimit,
  deliverTo,
  expectFinalBytes,
  expectReplies,
  serve,
  settle,
} from "./helpers.ts";

/** Feeds each chunk in turn and returns every line yielded, shown as bytes. */
function split(splitter: LineSplitter, ...chunks: (string | Buffer)[]): string[] {
  const lines: string[] = [];
  for (const chunk of chunks) {
    for (const line of splitter.feed(Buffer.from(chunk))) lines.push(show(line));
  }
  return lines;
}

function expectLines(chunks: (string | Buffer)[], expected: (string | Buffer)[], max?: number) {
  const got = split(new LineSplitter({ maxLineBytes: max }), ...chunks);
  const want = expected.map((line) => show(line));
  expect(
    got,
    `Fed the chunks ${chunks.map((c) => show(c)).join(" | ")}\n` +
      `  expected the lines ${want.join(", ") || "(none)"}\n` +
      `  got               ${got.join(", ") || "(none)"}`,
  ).toEqual(want);
}

/**
 * The error a request is rejected with; if it resolves instead, an Error that shows the reply, so
 * the code check below says what came.
 */
function refusal(request: string, reply: Promise<string>): Promise<unknown> {
  return reply.then(
    (text) =>
      new Error(`request(${JSON.stringify(request)}) resolved with ${JSON.stringify(text)}`),
    (error: unknown) => error,
  );
}

/** Checks an error's code; an unwritten function's own error is rethrown as it is. */
function expectCode(error: unknown, code: string, what: string): void {
  if (codeOf(error) === "COURSE_NOT_IMPLEMENTED") throw error;
  expect(codeOf(error), what).toBe(code);
}

/** Feeds `chunks` and expects LINE_TOO_LONG; `why` says why the limit is passed. */
function expectTooLong(splitter: LineSplitter, chunks: string[], why: string): void {
  const fed = `feed(${chunks.map((c) => show(c)).join(", then ")}) with maxLineBytes ${splitter.maxLineBytes}`;
  let error: unknown;
  try {
    split(splitter, ...chunks);
  } catch (thrown) {
    error = thrown;
  }
  if (error === undefined) {
    throw new Error(`${fed} threw nothing; expected a LineProtocolError LINE_TOO_LONG: ${why}.`);
  }
  expectLineTooLong(error, fed);
}

function expectLineTooLong(error: unknown, what = "the error"): void {
  const message = `${what}: expected a LineProtocolError with code LINE_TOO_LONG`;
  expectCode(error, "LINE_TOO_LONG", message);
  expect(error, message).toBeInstanceOf(LineProtocolError);
}

function expectReply(request: string | Buffer, reply: string | Buffer, close = false): void {
  const line = Buffer.from(request);
  const got = respond(line);
  expect(
    show(got.bytes),
    explain("respond() gave the wrong reply.", line, show(reply), got.bytes),
  ).toBe(show(reply));
  expect(got.close, `close after replying to ${show(line)}`).toBe(close);
}

describe("Step 1: Split a byte stream into lines", () => {
  test("yields nothing until a line's LF arrives, and keeps the bytes meanwhile", () => {
    const splitter = new LineSplitter();
    expect(split(splitter, "PING"), "no LF yet, so no line yet").toEqual([]);
    expect(splitter.pendingBytes, "bytes held for the unfinished line").toBe(4);
    expect(split(splitter, "\n")).toEqual([show("PING")]);
    expect(splitter.pendingBytes, "nothing held once the line is complete").toBe(0);
  });

  test("counts the bytes it holds, not characters", () => {
    const splitter = new LineSplitter();
    expect(split(splitter, "ECHO é"), "no LF yet").toEqual([]);
    expect(splitter.pendingBytes, 'bytes held for "ECHO é": "é" is the two bytes C3 A9').toBe(7);
  });

  test("frames a line that arrives one byte per chunk, even inside a UTF-8 character", () => {
    expectLines(byteByByte("ECHO 🚀 ok\n"), ["ECHO 🚀 ok"]);
  });

  test("yields two lines that arrive in one chunk, in order", () => {
    expectLines(["PING\nECHO two\n"], ["PING", "ECHO two"]);
  });

  test("keeps the start of the next line that follows a complete one", () => {
    expectLines(["PING\nEC", "HO hi\n"], ["PING", "ECHO hi"]);
  });

  test("keeps a UTF-8 character split across two chunks intact", () => {
    // "é" is the two bytes C3 A9; the chunk boundary falls between them.
    const splitter = new LineSplitter();
    const lines = [
      ...splitter.feed(Buffer.from([0x45, 0x43, 0x48, 0x4f, 0x20, 0x63, 0x61, 0x66, 0xc3])),
      ...splitter.feed(Buffer.from([0xa9, 0x0a])),
    ];
    expect(
      lines.map((line) => show(line)),
      'fed "ECHO caf\\xc3" then "\\xa9\\n": the two bytes of "é" belong to one line, joined as bytes',
    ).toEqual([show("ECHO café")]);
    expect(lines[0]?.toString("utf8")).toBe("ECHO café");
  });

  test("accepts LF and CRLF line endings and drops the CR of a CRLF", () => {
    expectLines(["PING\r\nPING\nECHO crlf\r\n"], ["PING", "PING", "ECHO crlf"]);
  });

  test("holds a CR at the end of a chunk until its LF comes in the next chunk", () => {
    expectLines(["PING\r", "\nECHO x\r", "\n"], ["PING", "ECHO x"]);
  });

  test("keeps a CR that no LF follows as part of the line", () => {
    expectLines(["ECHO a\rb\n"], ["ECHO a\rb"]);
    expectLines(["ECHO a\r", "b\n"], ["ECHO a\rb"]);
  });

  test("yields an empty line for a line ending on its own", () => {
    expectLines(["\n", "\r\n"], ["", ""]);
  });
});

describe("Step 2: Answer one request line", () => {
  test("answers PING with PONG, whatever follows the word", () => {
    expectReply("PING", "PONG\n");
    expectReply("PING extra", "PONG\n");
  });

  test("matches the command word without regard to ASCII case", () => {
    expectReply("ping", "PONG\n");
    expectReply("Echo hi", "hi\n");
  });

  test("answers ECHO with the bytes after the first space, unchanged", () => {
    expectReply("ECHO  two  spaces ", " two  spaces \n");
    expectReply("ECHO naïve ☃", "naïve ☃\n");
    // Not valid UTF-8, and still echoed byte for byte: ECHO never decodes its argument.
    expectReply(
      Buffer.from([0x45, 0x43, 0x48, 0x4f, 0x20, 0xff, 0xfe]),
      Buffer.from([0xff, 0xfe, 0x0a]),
    );
  });

  test("answers ECHO without text with an empty line", () => {
    expectReply("ECHO", "\n");
    expectReply("ECHO ", "\n");
  });

  test("answers QUIT with BYE and asks for the connection to close", () => {
    expectReply("QUIT", "BYE\n", true);
    expectReply("QUIT now", "BYE\n", true);
  });

  test("answers an unknown command, or an empty line, with an ERR line naming it", () => {
    expectReply("HELLO there", 'ERR unknown command "HELLO"\n');
    expectReply("", 'ERR unknown command ""\n');
    // The word as it came, in its own case, as a JSON string: quotes and backslashes escaped.
    expectReply("hello", 'ERR unknown command "hello"\n');
    expectReply('SAY"\\ x', 'ERR unknown command "SAY\\"\\\\"\n');
  });
});

describe("Step 3: Serve a connection until either side closes", () => {
  test("answers many requests, one after another, on one connection", async () => {
    const pair = await connectTo(await serve());
    await expectReplies(pair, "PING\n", "PONG\n");
    await expectReplies(pair, "ECHO one\n", "one\n");
    await expectReplies(pair, "ECHO two\r\n", "two\n");
  });

  test("answers a line that reaches it one byte per data event, once, when the LF arrives", async () => {
    // A data event is a chunk, not a message: here the server gets six of them for one line.
    const pair = await connectTo(await serve());
    for (const byte of byteByByte("PING\r\n")) await deliverTo(pair, byte);
    await expectReplies(pair, "PING\r\n (one byte per data event)", "PONG\n", {
      alreadySent: true,
    });
  });

  test("answers two requests that arrive in one write, in order", async () => {
    const pair = await connectTo(await serve());
    await expectReplies(pair, "PING\nECHO second\n", "PONG\nsecond\n");
  });

  test("echoes a UTF-8 character split across two data events intact", async () => {
    const pair = await connectTo(await serve());
    const request = Buffer.from("ECHO café\n");
    const cut = request.indexOf(0xa9); // between the two bytes of "é"
    await deliverTo(pair, request.subarray(0, cut));
    await deliverTo(pair, request.subarray(cut));
    await expectReplies(pair, request, "café\n", { alreadySent: true });
  });

  test("replies BYE to QUIT and closes the connection, ignoring lines after it", async () => {
    const pair = await connectTo(await serve());
    await pair.client.send("QUIT\nPING\n");
    await expectFinalBytes(pair, "QUIT\nPING\n", "BYE\n", "QUIT must be answered, then the FIN.");
  });

  test("after the client's FIN (half-close), answers every line sent before it, then closes", async () => {
    const pair = await connectTo(await serve(), { allowHalfOpen: true });
    // end() sends these bytes, then our FIN: "no more requests". Our side can still read.
    pair.client.socket.end("PING\nECHO sent before the FIN\n");
    await expectFinalBytes(
      pair,
      "PING\nECHO sent before the FIN\n, then FIN",
      "PONG\nsent before the FIN\n",
      "A half-closed client still gets its replies.",
    );
  });

  test("gives no reply to an unfinished last line before the client's FIN", async () => {
    const pair = await connectTo(await serve(), { allowHalfOpen: true });
    pair.client.socket.end("PING\nECHO no line ending");
    await expectFinalBytes(
      pair,
      "PING\nECHO no line ending, then FIN",
      "PONG\n",
      "A line without its LF is not a request.",
    );
  });

  test("stops reading from a client that leaves its replies unread, and reads again on drain", async () => {
    // Backpressure. This client sends ECHO requests and reads no reply. The replies soon fill the
    // kernels' buffers (about 4 MB on Linux), and the server's write() returns false. From then on
    // it must not read another request until "drain", or its queue of unsent replies grows
    // without limit.
    const served = await serve();
    const pair = await connectTo(served);
    const { peer } = pair;
    const client = pair.client.socket;
    const request = `ECHO ${"x".repeat(8000)}\n`;
    const linesPerBatch = 32; // 256 KB of requests per write
    const batch = Buffer.from(request.repeat(linesPerBatch));
    const replyBytes = Buffer.byteLength(request) - "ECHO ".length;
    client.pause();

    let flooding = true;
    const paused = new Promise<void>((resolve, reject) => {
      // Added after the server's own "data" listener, so this sees the chunk already handled.
      const onData = (): void => {
        if (!peer.writableNeedDrain || peer.isPaused()) return;
        flooding = false;
        reject(
          new Error(
            `The server's write() returned false (${peer.writableLength} bytes of replies ` +
              "wait to go out), yet it keeps reading requests. When write() returns false, " +
              "pause the socket until drain.",
          ),
        );
      };
      peer.on("data", onData);
      peer.once("pause", () => {
        flooding = false;
        peer.off("data", onData);
        resolve();
      });
    });
    // One batch at a time, each once the one before has gone to the kernel, until the server
    // stops reading: as many bytes as it takes, whatever the size of the kernels' buffers.
    let batches = 0;
    const flood = (error?: Error | null): void => {
      if (error || !flooding) return;
      batches++;
      client.write(batch, flood);
    };
    flood();
    await settle(
      served,
      paused,
      () =>
        `the server to call socket.pause() once its write() returned false (the test watches the ` +
        `socket's "pause" event and isPaused()); ${batches * batch.length} bytes of requests ` +
        `sent, ${peer.writableLength} bytes of replies waiting to go out`,
      4_000,
    ).finally(() => {
      flooding = false;
    });
    expect(
      peer.writableNeedDrain,
      "the server paused, but its write() had not returned false",
    ).toBe(true);

    const resumed = once(peer, "drain").then(() => {
      expect(peer.isPaused(), 'after "drain" the server must read requests again').toBe(false);
    });
    const expected = batches * linesPerBatch * replyBytes;
    let received = 0;
    const answered = new Promise<void>((resolve, reject) => {
      client.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= expected) resolve();
      });
      client.once("close", () => {
        reject(new Error(`The connection closed after ${received} of ${expected} reply bytes`));
      });
    });
    client.resume(); // read the replies: the server's queue drains
    await settle(
      served,
      Promise.all([resumed, answered]),
      () =>
        `a reply to every request after "drain": ${received} of ${expected} reply bytes came. ` +
        'Resume the socket on "drain".',
      4_000,
    );
    expect(received, "reply bytes for all the requests sent").toBe(expected);
  });

  test("counts open connections: one more per accepted client, one less per closed one", async () => {
    const served = await serve();
    const { server } = served;
    expect(server.openConnections).toBe(0);
    const first = await connectTo(served);
    const second = await connectTo(served);
    expect(server.openConnections, "two clients connected").toBe(2);

    first.client.socket.end();
    await closeOf(served, first.peer, "the server to close after the client's FIN");
    expect(server.openConnections, "the first client half-closed, then the server closed").toBe(1);

    await second.client.send("QUIT\n");
    await closeOf(served, second.peer, "the server to close after QUIT");
    expect(server.openConnections, "the second client sent QUIT").toBe(0);
  });

  test("survives a client that resets its connection, and keeps serving the others", async () => {
    // A crashed or aborting client sends a reset (RST), not a FIN. Node reports it as an "error"
    // event (ECONNRESET) on the server's socket; an "error" event nobody listens to crashes the
    // whole process, and every other client with it.
    const served = await serve();
    const other = await connectTo(served);
    const pair = await connectTo(served);
    expect(
      pair.peer.listenerCount("error"),
      'the server\'s socket has no "error" listener: a reset from one client would crash the server',
    ).toBeGreaterThan(0);
    await deliverTo(pair, "ECHO half a li");
    pair.client.socket.resetAndDestroy();
    await closeOf(served, pair.peer, "the server's side to close after the client's reset");
    expect(served.server.openConnections, "the reset connection is forgotten").toBe(1);
    await expectReplies(other, "PING\n", "PONG\n");
  });
});

describe("Step 4: Cap the line length", () => {
  test("accepts a line of exactly maxLineBytes bytes, with either line ending", () => {
    expectLines(["ECHO 123\n", "ECHO 123\r\n"], ["ECHO 123", "ECHO 123"], 8);
  });

  test("throws LINE_TOO_LONG for a line one byte over the limit", () => {
    expectTooLong(new LineSplitter({ maxLineBytes: 8 }), ["ECHO 1234\n"], "9 bytes before the LF");
  });

  test("throws as soon as an unfinished line passes the limit, before any LF", () => {
    const splitter = new LineSplitter({ maxLineBytes: 8 });
    expect(split(splitter, "ECHO", " 123"), "8 bytes, no LF: still within the limit").toEqual([]);
    expectTooLong(splitter, ["4"], "9 bytes held and still no LF: the limit is passed already");
  });

  test("counts bytes, not characters", () => {
    // "é" is 2 bytes: "ééé" is 3 characters but 6 bytes.
    expectLines(["éé\n"], ["éé"], 4);
    expectTooLong(new LineSplitter({ maxLineBytes: 4 }), ["ééé\n"], '"ééé" is 6 bytes');
    expectTooLong(new LineSplitter({ maxLineBytes: 4 }), ["ééé"], '"ééé" is 6 bytes, LF or no LF');
  });

  test("does not count a CR that may still be followed by its LF, but counts one that is not", () => {
    expectLines(["ABCD\r", "\n"], ["ABCD"], 4);
    const splitter = new LineSplitter({ maxLineBytes: 4 });
    expect(split(splitter, "ABCD\r")).toEqual([]);
    expectTooLong(splitter, ["X"], "the CR is followed by X, not LF: it is a fifth byte");
  });

  test("yields the lines before an over-long line in the same chunk, then throws", () => {
    const splitter = new LineSplitter({ maxLineBytes: 8 });
    const yielded: string[] = [];
    const error = thrownBy(() => {
      for (const line of splitter.feed(Buffer.from(`PING\n${"x".repeat(20)}\n`))) {
        yielded.push(show(line));
      }
    });
    expectLineTooLong(error, "a 20-byte line after PING, with maxLineBytes 8");
    expect(yielded, "the line before the over-long one").toEqual([show("PING")]);
  });

  test("forgets the bytes it held once a line is too long", () => {
    const splitter = new LineSplitter({ maxLineBytes: 8 });
    expect(split(splitter, "ECHO")).toEqual([]);
    expectTooLong(splitter, [" 12345"], "10 bytes held, no LF");
    expect(splitter.pendingBytes, "bytes held after LINE_TOO_LONG").toBe(0);
    expect(split(splitter, "PI", "NG\n"), "the next line, framed from scratch").toEqual([
      show("PING"),
    ]);
  });

  test("takes a cap of one byte, and refuses a cap that is not a positive whole number", () => {
    expectLines(["x\n", "y\r\n"], ["x", "y"], 1);
    for (const maxLineBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        () => new LineSplitter({ maxLineBytes }),
        `new LineSplitter({ maxLineBytes: ${maxLineBytes} })`,
      ).toThrow(RangeError);
    }
  });

  test("sends an error line, then closes a connection whose line is too long", async () => {
    const pair = await connectTo(await serve({ maxLineBytes: 16 }));
    const request = `ECHO ${"x".repeat(40)}\n`;
    await pair.client.send(request);
    await expectFinalBytes(
      pair,
      request,
      "ERR line too long (max 16 bytes)\n",
      "A 45-byte line to a server capped at 16.",
    );
  });

  test("enforces the cap before the LF arrives", async () => {
    const pair = await connectTo(await serve({ maxLineBytes: 16 }));
    const request = "x".repeat(17); // no LF, ever
    await deliverOverLimit(pair, request, 16);
    await expectFinalBytes(
      pair,
      request,
      "ERR line too long (max 16 bytes)\n",
      "The server must not wait for an LF that may never come.",
    );
  });

  test("answers the lines before the over-long one first", async () => {
    const pair = await connectTo(await serve({ maxLineBytes: 16 }));
    const request = `PING\n${"x".repeat(40)}`;
    await pair.client.send(request);
    await expectFinalBytes(
      pair,
      request,
      "PONG\nERR line too long (max 16 bytes)\n",
      "The lines before the over-long one are answered first, in order.",
    );
  });

  test("keeps reading after its FIN, so a client still sending gets the error line", async () => {
    // A socket closed with bytes still unread answers with a reset (RFC 9293 §3.6.1), and a reset
    // fails the client's pending write and throws away what it has not read yet. This client
    // sends 16 MB, more than the two kernels buffer between them, and reads nothing until every
    // byte is written: that only works if the server keeps reading (and dropping) after its FIN,
    // instead of destroying the socket.
    const served = await serve({ maxLineBytes: 16 });
    const pair = await connectTo(served);
    const client = pair.client.socket;
    client.pause();
    const writeError = await settle(
      served,
      new Promise<Error | null | undefined>((resolve) => {
        client.write(Buffer.alloc(16_000_000, "x"), resolve);
      }),
      "the server to read all 16,000,000 bytes after its FIN (resume the socket after end())",
      4_000,
    );
    expect(writeError ?? null, "the client's write failed: the server reset the connection").toBe(
      null,
    );
    client.resume();
    await expectFinalBytes(
      pair,
      "16,000,000 x bytes, no LF",
      "ERR line too long (max 16 bytes)\n",
      "The error line was lost.",
    );
  });

  test("keeps serving other clients when one sends an over-long line", async () => {
    const served = await serve({ maxLineBytes: 16 });
    const polite = await connectTo(served);
    const flooder = await connectTo(served);
    await deliverOverLimit(flooder, "x".repeat(100), 16);
    await expectFinalBytes(
      flooder,
      "x".repeat(100),
      "ERR line too long (max 16 bytes)\n",
      "100 bytes, no LF, to a server capped at 16.",
    );
    await expectReplies(polite, "PING\n", "PONG\n");
    const later = await connectTo(served);
    await expectReplies(later, "ECHO still here\n", "still here\n");
  });
});

describe("Step 5: Shut down gracefully", () => {
  test("refuses new connections as soon as shutdown() begins", async () => {
    const served = await serve();
    const pair = await connectTo(served);
    await deliverTo(pair, "ECHO in progr"); // keeps the connection, so the server is still closing
    const done = served.server.shutdown();
    const outcome = await settle(
      served,
      connect(served.address).then(
        () => "connected",
        (error: NodeJS.ErrnoException) => error.code,
      ),
      "a new connection to be refused",
    );
    expect(outcome, "a new connection after shutdown() began").toBe("ECONNREFUSED");
    await pair.client.send("ess\n");
    await settle(served, done, "shutdown() to resolve once the line in progress was answered");
  });

  test("ends idle connections with a FIN and no bytes, and resolves once all are closed", async () => {
    const served = await serve();
    const { server } = served;
    const first = await connectTo(served);
    const second = await connectTo(served);
    await expectReplies(second, "PING\n", "PONG\n"); // idle again after an exchange
    await settle(served, server.shutdown(), "shutdown() to end the idle connections and resolve");
    await expectFinalBytes(first, "(nothing)", "", "An idle connection gets only a FIN.");
    await expectFinalBytes(second, "PING\n", "PONG\n", "An idle connection gets only a FIN.");
    expect(server.openConnections, "open connections once shutdown() resolved").toBe(0);
    expect(server.listening).toBe(false);
  });

  test("lets a line in progress finish: answers it, then ends that connection", async () => {
    const served = await serve();
    const pair = await connectTo(served);
    await deliverTo(pair, "PING\nECHO almost d"); // the server has these bytes before shutdown()
    let resolved = false;
    const done = served.server.shutdown().then(() => {
      resolved = true;
    });
    await pair.client.send("one\n");
    await expectReplies(pair, "PING\nECHO almost done\n", "PONG\nalmost done\n", {
      alreadySent: true,
    });
    expect(resolved, "shutdown() resolved before the last reply was sent").toBe(false);
    await expectFinalBytes(pair, "PING\nECHO almost done\n", "PONG\nalmost done\n", "Then a FIN.");
    await settle(served, done, "shutdown() to resolve once the last connection closed");
    expect(served.server.openConnections, "open connections once shutdown() resolved").toBe(0);
  });

  test("keeps a finishing connection open while another line has begun in the same chunk", async () => {
    const served = await serve();
    const pair = await connectTo(served);
    await deliverTo(pair, "ECHO almost d");
    const done = served.server.shutdown();
    // The chunk that completes the line in progress starts the next one too: that line is also
    // in progress, so the connection may not end yet.
    await deliverTo(pair, "one\nECHO and th");
    await pair.client.send("is\n");
    await expectFinalBytes(
      pair,
      "ECHO almost d | one\nECHO and th | is\n",
      "almost done\nand this\n",
      "Each line in progress when its chunk arrived gets its reply, then the FIN.",
    );
    await settle(served, done, "shutdown() to resolve once the last connection closed");
  });

  test("resolves even when a finishing connection is reset instead of closed", async () => {
    // A reset arrives as an "error" event, then "close". Waiting for each connection's close must
    // not turn that error into a failed shutdown: the connection is gone either way.
    const served = await serve();
    const pair = await connectTo(served);
    await deliverTo(pair, "ECHO never fini");
    const done = served.server.shutdown();
    pair.client.socket.resetAndDestroy();
    await settle(
      served,
      done.then(
        () => "resolved",
        (error: unknown) => `rejected with ${codeOf(error)}`,
      ),
      "shutdown() to resolve once the reset connection closed",
    ).then((outcome) => {
      expect(outcome, "shutdown() while a finishing connection was reset").toBe("resolved");
    });
    expect(served.server.openConnections, "open connections once shutdown() resolved").toBe(0);
  });
});

/**
 * A server written here, not the lesson's: it answers each request line with whatever `reply`
 * returns, so the client can be shown replies the lesson's server would never send.
 */
async function fakeServer(reply: (line: string, socket: net.Socket) => void) {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let lf = pending.indexOf("\n"); lf !== -1; lf = pending.indexOf("\n")) {
        const line = pending.slice(0, lf);
        pending = pending.slice(lf + 1);
        reply(line, socket);
      }
    });
  });
  return { server, address: await listen(server) };
}

/**
 * createClient(address), and the socket it opened: found by watching net.Socket's connect(), which
 * every way of opening a TCP connection in Node goes through.
 */
async function clientWithSocket(options: Parameters<typeof createClient>[0]) {
  const opened: net.Socket[] = [];
  const original = net.Socket.prototype.connect;
  const spy = vi.spyOn(net.Socket.prototype, "connect").mockImplementation(function (
    this: net.Socket,
    ...args: unknown[]
  ) {
    opened.push(this);
    return original.apply(this, args as Parameters<typeof original>);
  });
  let pending: ReturnType<typeof createClient>;
  try {
    pending = createClient(options);
  } finally {
    spy.mockRestore();
  }
  const client = await within(pending, "createClient() to connect");
  const socket = opened[0];
  expect(socket, "createClient() should open a TCP connection with net.connect()").toBeDefined();
  expect(
    socket?.listenerCount("error"),
    'the client\'s socket has no "error" listener: a reset from the server would crash the ' +
      'process. Listen for "error", keep the error, and reject the waiting requests with it as ' +
      "the cause.",
  ).toBeGreaterThan(0);
  return client;
}

describe("Step 6: Write a client that pipelines requests", () => {
  test("request() resolves with the reply line, decoded as UTF-8", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    expect(await settle(served, client.request("PING"), "the reply to PING")).toBe("PONG");
    expect(await settle(served, client.request("ECHO naïve ☃ 🚀"), "the ECHO reply")).toBe(
      "naïve ☃ 🚀",
    );
    await settle(served, client.close(), "close() to resolve");
  });

  test("matches replies to several requests in flight, in order, on one connection", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    const replies = await settle(
      served,
      Promise.all([
        client.request("ECHO first"),
        client.request("PING"),
        client.request("NOPE"),
        client.request("ECHO last"),
      ]),
      "four replies",
    );
    expect(replies).toEqual(["first", "PONG", 'ERR unknown command "NOPE"', "last"]);
    expect(served.server.openConnections, "all four went over one connection").toBe(1);
    await settle(served, client.close(), "close() to resolve");
  });

  test("close() half-closes: requests already sent still get their replies", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    const pending = [client.request("ECHO one"), client.request("ECHO two")];
    const answered: string[] = [];
    for (const reply of pending) {
      reply.then(
        (text) => answered.push(text),
        () => {}, // checked below, with a message
      );
    }
    await settle(served, client.close(), "close() to resolve once the server closed too");
    expect(answered, "replies that had come when close() resolved").toEqual(["one", "two"]);
    expect(await Promise.all(pending)).toEqual(["one", "two"]);
  });

  test("rejects a request made after close() with CLIENT_CLOSED", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    const closing = client.close();
    closing.catch(() => {}); // awaited below; a failure before then is not an unhandled rejection
    expectCode(
      await refusal("PING", client.request("PING")),
      "CLIENT_CLOSED",
      "a request while close() is under way",
    );
    await settle(served, closing, "close() to resolve");
    expectCode(
      await refusal("PING", client.request("PING")),
      "CLIENT_CLOSED",
      "a request after close() resolved",
    );
  });

  test("rejects requests still waiting when the server closes with CONNECTION_CLOSED", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    const bye = client.request("QUIT");
    const orphan = client.request("PING");
    // Handled from the start, so a failure of the wait for BYE leaves no unhandled rejection.
    const orphanError = rejectionOf(() => orphan);
    orphanError.catch(() => {});
    expect(await settle(served, bye, "BYE")).toBe("BYE");
    expectCode(
      await settle(served, orphanError, "the request after QUIT to be rejected"),
      "CONNECTION_CLOSED",
      "a request the server will never answer",
    );
    expectCode(
      await refusal("PING", client.request("PING")),
      "CONNECTION_CLOSED",
      "a request after the server closed the connection",
    );
    await settle(served, client.close(), "close() to resolve at once: the connection is closed");
  });

  test("rejects waiting requests with CONNECTION_CLOSED when the server resets the connection", async () => {
    // The client's socket needs an "error" listener too: without one, this reset (ECONNRESET)
    // would crash the process.
    const { address } = await fakeServer((_line, socket) => socket.resetAndDestroy());
    const client = await clientWithSocket(address);
    const error = await within(
      refusal("PING", client.request("PING")),
      "the request to be rejected once the server reset the connection",
    );
    expectCode(error, "CONNECTION_CLOSED", "a request whose connection was reset");
    expect(
      codeOf((error as Error).cause),
      "the cause of CONNECTION_CLOSED: the socket's own error",
    ).toBe("ECONNRESET");
  });

  test("decodes a reply only once the whole line has come, even if a chunk ends inside a character", async () => {
    // The first write ends the reply "a" and starts the next reply with the first byte of "é"
    // (C3 A9); its second byte comes in a later chunk. Decoding each chunk on its own turns each
    // half into U+FFFD.
    const rest = deferred();
    const { address } = await fakeServer((line, socket) => {
      if (line !== "ECHO a") return;
      socket.write(Buffer.from([0x61, 0x0a, 0x63, 0x61, 0x66, 0xc3]));
      void rest.promise.then(() => socket.write(Buffer.from([0xa9, 0x0a])));
    });
    const client = await createClient(address);
    const first = client.request("ECHO a");
    const second = client.request("ECHO café");
    second.catch(() => {}); // awaited below; a failure of the first is not an unhandled rejection
    expect(await within(first, "the reply to ECHO a")).toBe("a");
    rest.resolve();
    expect(
      await within(second, "the reply to ECHO café"),
      'the reply "caf\\xc3" + "\\xa9\\n", in two chunks: keep bytes until the LF, then decode',
    ).toBe("café");
  });

  test("counts a reply's length in bytes, not characters", async () => {
    const served = await serve();
    const client = await clientWithSocket({ ...served.address, maxLineBytes: 16 });
    const error = await settle(
      served,
      refusal(`ECHO ${"é".repeat(10)}`, client.request(`ECHO ${"é".repeat(10)}`)),
      'a reply of 10 "é" (20 bytes, 10 characters) to a client capped at 16 bytes to be rejected',
    );
    expectCode(error, "LINE_TOO_LONG", 'a reply of 10 "é": 20 bytes, with maxLineBytes 16');
  });

  test("caps a reply line too: a reply over maxLineBytes fails with LINE_TOO_LONG", async () => {
    // A server that never sends an LF must not make the client hold everything it sends.
    const served = await serve();
    const client = await clientWithSocket({ ...served.address, maxLineBytes: 16 });
    const error = await settle(
      served,
      refusal(`ECHO ${"x".repeat(40)}`, client.request(`ECHO ${"x".repeat(40)}`)),
      "a 40-byte reply to a client capped at 16 bytes to be rejected",
    );
    expectCode(error, "LINE_TOO_LONG", "a reply of 40 bytes, with maxLineBytes 16");
    expectCode(
      await refusal("PING", client.request("PING")),
      "LINE_TOO_LONG",
      "a request after the connection failed: the reason it failed",
    );
  });

  test("fails with UNEXPECTED_REPLY when a reply comes that no request was waiting for", async () => {
    // One line in, two lines out: the second reply belongs to no request, and from then on the
    // client cannot tell which reply answers which request.
    let serverSide: net.Socket | undefined;
    const { address } = await fakeServer((line, socket) => {
      serverSide = socket;
      socket.write(`${line}\nextra\n`);
    });
    const client = await clientWithSocket(address);
    expect(await within(client.request("ECHO"), "the reply to ECHO")).toBe("ECHO");
    await within(
      new Promise<void>((resolve) => {
        if (serverSide === undefined || serverSide.closed) resolve();
        else serverSide.once("close", () => resolve());
      }),
      "the client to drop the connection after a reply no request was waiting for",
    );
    expectCode(
      await refusal("PING", client.request("PING")),
      "UNEXPECTED_REPLY",
      "a request after an unexpected reply: the reason the connection failed",
    );
  });

  test("refuses a request containing a line break with NEWLINE_IN_REQUEST, sending nothing", async () => {
    const served = await serve();
    const client = await createClient(served.address);
    expectCode(
      await refusal("ECHO a\nPING", client.request("ECHO a\nPING")),
      "NEWLINE_IN_REQUEST",
      "a request with a line break in it",
    );
    // Had "ECHO a\nPING\n" gone out, this request would get "PONG", meant for the smuggled line.
    expect(await settle(served, client.request("ECHO in step"), "the reply to ECHO")).toBe(
      "in step",
    );
    await settle(served, client.close(), "close() to resolve");
  });

  test("createClient() rejects with ECONNREFUSED when nothing listens", async () => {
    // A port that was just free: listened on, then closed again.
    const probe = net.createServer();
    const address = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await within(
      rejectionOf(() => createClient(address)),
      "createClient() to reject: nothing listens",
    );
    expectCode(error, "ECONNREFUSED", "connecting to a port nobody listens on");
  });
});
