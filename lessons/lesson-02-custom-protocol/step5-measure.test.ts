import type net from "node:net";
import { describe, expect, test } from "vitest";
import { createClient } from "#lesson/lesson-02-custom-protocol/client.ts";
import { createServer } from "#lesson/lesson-02-custom-protocol/server.ts";
import { listen } from "../../shared/testing/net.ts";
import { within } from "../../shared/testing/patience.ts";

describe("Step 5: Measure RESP against HTTP", () => {
  test("a SET and a GET cost on the wire exactly the bytes of their RESP frames", async () => {
    const server = createServer();
    const closed = new Promise<net.Socket>((resolve) =>
      server.on("connection", (socket: net.Socket) => socket.on("close", () => resolve(socket))),
    );
    const client = await within(createClient(await listen(server)), "createClient() to connect");
    await within(client.command("SET", "key", "value"), "+OK for SET key value");
    await within(client.command("GET", "key"), "the value for GET key");
    await within(client.close(), "close() to end the connection and resolve");
    const socket = await within(closed, "the server to close its side after the client's FIN");
    const sent =
      "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n" + "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    const replied = "+OK\r\n" + "$5\r\nvalue\r\n";
    // The bench counts bytes the same way: bytesRead + bytesWritten on the server's sockets.
    expect(
      { read: socket.bytesRead, written: socket.bytesWritten },
      "nothing but the commands and replies crosses the wire: no handshake, no extra bytes",
    ).toEqual({ read: Buffer.byteLength(sent), written: Buffer.byteLength(replied) });
  });
});
