import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import {
  getUserOn,
  getUserRequest,
  GET_USER,
  grpcJsGetUser,
  lpm,
  openSession,
  PROTO_FILE,
  rawCall,
  rethrowLoggedStub,
  startHand,
  statusOf,
  userServiceClient,
  waitFor,
  type RawReply,
} from "./wire-helpers.ts";

/** The User in a reply's one message, decoded by protobufjs from user.proto. */
function userIn(reply: RawReply): unknown {
  const { data } = reply;
  expect(
    data.length,
    `one Length-Prefixed-Message in the DATA frames\n${reply.shown}`,
  ).toBeGreaterThan(4);
  expect(data[0], `Compressed-Flag 0: nothing is compressed\n${reply.shown}`).toBe(0);
  expect(
    data.readUInt32BE(1),
    `the 4-byte big-endian Message-Length is the bytes that follow it\n${reply.shown}`,
  ).toBe(data.length - 5);
  const User = protobuf.loadSync(PROTO_FILE).lookupType("users.v1.User");
  return User.toObject(User.decode(data.subarray(5)));
}

/** A Trailers-Only response with this status: one HEADERS frame, END_STREAM, no DATA. */
function expectTrailersOnly(reply: RawReply, status: number): void {
  expect(
    reply.trailersOnly,
    `a call that fails before any message is Trailers-Only: one HEADERS with END_STREAM\n${reply.shown}`,
  ).toBe(true);
  expect(reply.headers[":status"], reply.shown).toBe(200);
  expect(String(reply.headers["content-type"]), reply.shown).toMatch(/^application\/grpc/);
  expect(reply.data.length, `no DATA in a Trailers-Only response\n${reply.shown}`).toBe(0);
  expect(statusOf(reply).status, `grpc-status ${status}\n${reply.shown}`).toBe(String(status));
}

describe("Step 2: gRPC on the wire", () => {
  describe("the official @grpc/grpc-js client", () => {
    test("GetUser { id: '123' } answers Ada Lovelace", async () => {
      const { target } = await startHand();
      expect(await grpcJsGetUser(target, "123")).toEqual({
        id: "123",
        name: "Ada Lovelace",
        email: "ada.lovelace.123@example.com",
      });
    });

    test("GetUser { id: '999' } fails with code 5 (NOT_FOUND) and details 'no user 999'", async () => {
      const { target } = await startHand();
      const error = (await grpcJsGetUser(target, "999").catch(
        (e: unknown) => e,
      )) as grpc.ServiceError;
      expect(error.code, `grpc-js's error: ${error.message}`).toBe(grpc.status.NOT_FOUND);
      expect(error.details).toBe("no user 999");
    });

    test("a status message with '%' and non-ASCII reaches grpc-js intact (percent-encoded on the wire)", async () => {
      const { target } = await startHand();
      const id = "50% Ünïcødé 🙂";
      const error = (await grpcJsGetUser(target, id).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(error.code, `grpc-js's error: ${error.message}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details, "the message names the id as sent").toContain(id);
    });

    test("an unknown method is code 12, UNIMPLEMENTED", async () => {
      const { target } = await startHand();
      const client = new grpc.Client(target, grpc.credentials.createInsecure());
      try {
        const error = await waitFor(
          new Promise<grpc.ServiceError>((resolve) => {
            client.makeUnaryRequest(
              "/users.v1.UserService/DeleteEverything",
              (value: Buffer) => value,
              (value: Buffer) => value,
              Buffer.alloc(0),
              (err) => resolve(err as grpc.ServiceError),
            );
          }),
          "grpc-js's call to an unknown method to end",
        );
        rethrowLoggedStub(error?.details);
        expect(error?.code, `grpc-js's error: ${error?.message}`).toBe(grpc.status.UNIMPLEMENTED);
      } finally {
        client.close();
      }
    });

    test("three calls from one grpc-js client share one TCP connection, as three HTTP/2 streams", async () => {
      const { target, server } = await startHand();
      let connections = 0;
      server.on("connection", () => connections++);
      const UserService = userServiceClient();
      const client = new UserService(target, grpc.credentials.createInsecure());
      try {
        const getUser = (id: string): Promise<unknown> => getUserOn(client, id);
        const users = await waitFor(
          Promise.all([getUser("101"), getUser("102"), getUser("103")]),
          "three GetUser calls to end",
        );
        expect(users).toHaveLength(3);
        expect(connections, "HTTP/2 multiplexes calls over one connection").toBe(1);
      } finally {
        client.close();
      }
    });
  });

  describe("the frames, seen with node:http2's client", () => {
    test("a good call: HEADERS 200 application/grpc, one message in DATA, then trailers grpc-status 0", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url);
      expect(reply.headers[":status"], reply.shown).toBe(200);
      expect(String(reply.headers["content-type"]), reply.shown).toMatch(/^application\/grpc/);
      expect(reply.trailersOnly, `the response HEADERS do not end the stream\n${reply.shown}`).toBe(
        false,
      );
      expect(userIn(reply)).toEqual({
        id: "123",
        name: "Ada Lovelace",
        email: "ada.lovelace.123@example.com",
      });
      expect(
        reply.trailers?.["grpc-status"],
        `"Status must be sent in Trailers even if the status code is OK"\n${reply.shown}`,
      ).toBe("0");
    });

    test("two calls one after the other go on one connection, which the server keeps open", async () => {
      const { url } = await startHand();
      const session = openSession(url);
      const rule =
        "A call's end is its stream's end, never the connection's: HTTP/2 carries each of a " +
        "client's calls as a new stream on one connection, one after another as well as at " +
        "once, so the server does not close the session (GOAWAY) when a call is answered";
      const first = await rawCall(url, { session });
      expect(first.trailers?.["grpc-status"], first.shown).toBe("0");
      let second: RawReply;
      try {
        second = await rawCall(url, { session, chunks: [lpm(getUserRequest("124"))] });
      } catch (error) {
        rethrowLoggedStub();
        return expect.fail(`${rule}\n  the second call on the connection: ${String(error)}`);
      }
      expect(second.trailers?.["grpc-status"], `${rule}\n${second.shown}`).toBe("0");
    });

    test("content-type application/grpc+proto is gRPC too", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, { headers: { "content-type": "application/grpc+proto" } });
      expect(reply.trailers?.["grpc-status"], reply.shown).toBe("0");
    });

    test.each(["application/json", "text/plain", "application/grpc+json", "application/grpcfoo"])(
      "content-type %s is HTTP 415, not a gRPC status",
      async (contentType) => {
        const { url } = await startHand();
        const reply = await rawCall(url, { headers: { "content-type": contentType } });
        expect(
          reply.headers[":status"],
          `PROTOCOL-HTTP2.md: 415 for a content-type this server does not speak. It speaks ` +
            `protobuf, application/grpc and application/grpc+proto, and nothing else that starts ` +
            `with "application/grpc" (+json is JSON, not protobuf)\n${reply.shown}`,
        ).toBe(415);
        expect(statusOf(reply).status, reply.shown).toBeUndefined();
      },
    );

    test("no such user: Trailers-Only with grpc-status 5 and grpc-message 'no user 999'", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, { chunks: [lpm(getUserRequest("999"))] });
      expectTrailersOnly(reply, 5);
      expect(statusOf(reply).message, reply.shown).toBe("no user 999");
      expect(
        reply.trailers,
        `nothing after a Trailers-Only HEADERS\n${reply.shown}`,
      ).toBeUndefined();
    });

    test("grpc-message on the wire is percent-encoded: '%' as %25, é as %C3%A9", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, { chunks: [lpm(getUserRequest("5% é"))] });
      expectTrailersOnly(reply, 3);
      const message = statusOf(reply).message ?? "";
      expect(message, `only 0x20-0x7E on the wire\n${reply.shown}`).toMatch(/^[\x20-\x7e]+$/);
      expect(
        message,
        `'%' is %25 and é is its two UTF-8 bytes, each as '%' and two upper-case hex digits\n${reply.shown}`,
      ).toContain("5%25 %C3%A9");
    });

    test("a request cut over several DATA frames (the prefix split too) is one message", async () => {
      const { url } = await startHand();
      const framed = lpm(getUserRequest("123"));
      const chunks = [
        framed.subarray(0, 2),
        framed.subarray(2, 6),
        ...[...framed.subarray(6)].map((b) => Uint8Array.of(b)),
      ];
      const reply = await rawCall(url, { chunks });
      expect(userIn(reply)).toMatchObject({ name: "Ada Lovelace" });
    });

    test("two request messages on a unary call: UNIMPLEMENTED (request cardinality)", async () => {
      const { url } = await startHand();
      const two = Buffer.concat([lpm(getUserRequest("123")), lpm(getUserRequest("124"))]);
      expectTrailersOnly(await rawCall(url, { chunks: [two] }), 12);
    });

    test("no request message at all: UNIMPLEMENTED (request cardinality)", async () => {
      const { url } = await startHand();
      expectTrailersOnly(await rawCall(url, { chunks: [] }), 12);
    });

    test("END_STREAM in the middle of a message: INTERNAL", async () => {
      const { url } = await startHand();
      const framed = lpm(getUserRequest("123"));
      expectTrailersOnly(await rawCall(url, { chunks: [framed.subarray(0, 7)] }), 13);
    });

    test("an empty id (a zero-length GetUserRequest) is INVALID_ARGUMENT", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, { chunks: [lpm(new Uint8Array(0))] });
      expectTrailersOnly(reply, 3);
    });

    test("an id that is not digits is INVALID_ARGUMENT", async () => {
      const { url } = await startHand();
      expectTrailersOnly(await rawCall(url, { chunks: [lpm(getUserRequest("abc"))] }), 3);
    });

    test("a request message that is not protobuf (a field longer than the message) is INTERNAL", async () => {
      const { url } = await startHand();
      // field 1, wire type 2, length 16, but one byte follows
      expectTrailersOnly(
        await rawCall(url, { chunks: [lpm(Buffer.from([0x0a, 0x10, 0x31]))] }),
        13,
      );
    });

    test("Compressed-Flag 1 without grpc-encoding is INTERNAL", async () => {
      const { url } = await startHand();
      expectTrailersOnly(await rawCall(url, { chunks: [lpm(getUserRequest("123"), 1)] }), 13);
    });

    test("Compressed-Flag 1 with a grpc-encoding the server lacks is UNIMPLEMENTED", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, {
        headers: { "grpc-encoding": "snappy" },
        chunks: [lpm(getUserRequest("123"), 1)],
      });
      expectTrailersOnly(reply, 12);
    });

    test.each(["/users.v1.UserService/DeleteEverything", "/users.v2.UserService/GetUser", "/"])(
      "%s is UNIMPLEMENTED",
      async (path) => {
        const { url } = await startHand();
        expectTrailersOnly(await rawCall(url, { path }), 12);
      },
    );
  });

  describe("grpc-timeout", () => {
    test("a lookup slower than grpc-timeout 30m ends with DEADLINE_EXCEEDED from the server, and is abandoned", async () => {
      const { url, store } = await startHand({ lookupDelayMs: 300 });
      const session = openSession(url);
      const late = await rawCall(url, { session, headers: { "grpc-timeout": "30m" } });
      expectTrailersOnly(late, 4);
      // A call with no timeout, started after: once its lookup has run, the first one's would
      // have run too, had it not been abandoned.
      const next = await rawCall(url, { session, chunks: [lpm(getUserRequest("124"))] });
      expect(next.trailers?.["grpc-status"], next.shown).toBe("0");
      expect(
        store.queryLog.filter((q) => q === "getUser"),
        "the store read once, for the second call: the first call's lookup stopped at its deadline",
      ).toEqual(["getUser"]);
    });

    test("a call within its grpc-timeout (1S) answers as usual, after a 50 ms lookup", async () => {
      const { url } = await startHand({ lookupDelayMs: 50 });
      const reply = await rawCall(url, { headers: { "grpc-timeout": "1S" } });
      expect(
        reply.trailers?.["grpc-status"],
        "grpc-timeout 1S is one second: the unit counts (H M S m u n, parseTimeout), and " +
          `parseInt("1S") would make it 1 ms\n${reply.shown}`,
      ).toBe("0");
    });

    test("a malformed grpc-timeout ('soon') is refused with a message that names it", async () => {
      const { url } = await startHand();
      const reply = await rawCall(url, { headers: { "grpc-timeout": "soon" } });
      expectTrailersOnly(reply, 13);
      expect(statusOf(reply).message, reply.shown).toContain("grpc-timeout");
    });

    test("grpc-js with a 30 ms deadline on a slow lookup gets DEADLINE_EXCEEDED", async () => {
      const { target } = await startHand({ lookupDelayMs: 300 });
      const error = (await grpcJsGetUser(target, "123", { deadlineMs: 30 }).catch(
        (e: unknown) => e,
      )) as grpc.ServiceError;
      expect(error.code, `grpc-js's error: ${error.message}`).toBe(grpc.status.DEADLINE_EXCEEDED);
    });
  });

  describe("one bad call does not stop the others", () => {
    test("on one connection: a 415, a bad message, a bad timeout, then a good call", async () => {
      const { url } = await startHand();
      const session = openSession(url);
      await rawCall(url, { session, headers: { "content-type": "text/plain" } });
      await rawCall(url, { session, chunks: [Buffer.from([0x07])] });
      await rawCall(url, { session, headers: { "grpc-timeout": "x" } });
      const good = await rawCall(url, { session });
      expect(good.trailers?.["grpc-status"], good.shown).toBe("0");
    });

    test("a stream the client resets mid-request, and one reset while its lookup waits, do not stop the server", async () => {
      const { url, store, server } = await startHand({ lookupDelayMs: 100 });
      const session = openSession(url);
      /** A GetUser stream, once the server has it (and, with `whole`, its END_STREAM too). */
      const open = async (
        body: Buffer,
        whole: boolean,
      ): Promise<{
        stream: http2.ClientHttp2Stream;
        serverStream: http2.ServerHttp2Stream;
        closed: Promise<unknown>;
      }> => {
        const atServer = once(server, "stream") as Promise<[http2.ServerHttp2Stream]>;
        const stream = session.request({
          ":method": "POST",
          ":path": GET_USER,
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        // Not events.once(): it would reject on the reset's own "error" event.
        const closed = new Promise((resolve) => stream.once("close", resolve));
        if (whole) stream.end(body);
        else stream.write(body);
        const [serverStream] = await waitFor(atServer, "the server to see the stream");
        if (whole) await waitFor(once(serverStream, "end"), "the server to read END_STREAM");
        return { stream, serverStream, closed };
      };
      const partial = lpm(getUserRequest("123")).subarray(0, 3);
      const midRequest = await open(partial, false);
      midRequest.stream.close(http2.constants.NGHTTP2_CANCEL);
      // A reset with an error code other than CANCEL is an 'error' event on the server's stream:
      // without a listener, it would bring the process down.
      const broken = await open(partial, false);
      expect(
        broken.serverStream.listenerCount("error"),
        "every stream the server gets has an 'error' listener: a client's RST_STREAM with an " +
          "error code other than CANCEL (here INTERNAL_ERROR) is an 'error' event on the " +
          "server's stream, and an 'error' event that nobody listens to ends the process",
      ).toBeGreaterThan(0);
      broken.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      // The whole request is in, and its lookup waits 100 ms: the client gives up first.
      const waiting = await open(lpm(getUserRequest("123")), true);
      waiting.stream.close(http2.constants.NGHTTP2_CANCEL);
      await waitFor(
        Promise.all([midRequest.closed, broken.closed, waiting.closed]),
        "the three reset streams to close",
      );
      const good = await rawCall(url, { session, chunks: [lpm(getUserRequest("125"))] });
      expect(good.trailers?.["grpc-status"], good.shown).toBe("0");
      expect(
        store.queryLog.filter((q) => q === "getUser"),
        "a call the client cancelled does not read the store",
      ).toEqual(["getUser"]);
    });

    test("a connection that sends garbage instead of HTTP/2 is dropped; the next client is served", async () => {
      const { url, target } = await startHand();
      const [host, port] = target.split(":") as [string, string];
      const socket = net.connect(Number(port), host);
      socket.on("error", () => {});
      socket.resume(); // read (and drop) the server's GOAWAY, so that its FIN is seen
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor(once(socket, "close"), "the server to drop a connection that is not HTTP/2");
      const good = await rawCall(url);
      expect(good.trailers?.["grpc-status"], good.shown).toBe("0");
    });
  });
});
