import { once } from "node:events";
import net from "node:net";
import { onTestFinished } from "vitest";
import { show } from "./bytes.ts";

export interface Address {
  host: string;
  port: number;
}

/**
 * Starts `server` on 127.0.0.1 and a port the OS picks, and closes it when the current test ends,
 * destroying any connection still open so that no test leaks a socket into the next.
 */
export async function listen(server: net.Server): Promise<Address> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { address, port } = server.address() as net.AddressInfo;
  return { host: address, port };
}

/** Opens a TCP connection, resolves once it is established, destroys it when the test ends. */
export async function connect(
  { host, port }: Address,
  options: { allowHalfOpen?: boolean } = {},
): Promise<net.Socket> {
  const socket = net.connect({ host, port, allowHalfOpen: options.allowHalfOpen ?? false });
  onTestFinished(() => {
    socket.destroy();
  });
  await once(socket, "connect");
  return socket;
}

/**
 * Collects every byte a socket receives, so a test can wait for exactly what it expects:
 * `await inbox.until((bytes) => bytes.includes("\r\n"))`. If the connection ends first, the error
 * shows the bytes that did arrive.
 */
export class Inbox {
  /**
   * What arrived is copied into one buffer that doubles when full, so a check after every chunk
   * costs no more than the bytes themselves (joining every chunk anew for each check would copy a
   * large transfer over and over).
   */
  private buffer = Buffer.alloc(0);
  private size = 0;
  private ended = false;
  private readonly waiters = new Set<() => void>();

  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      if (this.size + chunk.length > this.buffer.length) {
        const grown = Buffer.allocUnsafe(
          Math.max(2 * this.buffer.length, this.size + chunk.length),
        );
        this.buffer.copy(grown, 0, 0, this.size);
        this.buffer = grown;
      }
      chunk.copy(this.buffer, this.size);
      this.size += chunk.length;
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Everything received so far. */
  bytes(): Buffer {
    // A view: the bytes it shows stay as they are, since later ones go after them or elsewhere.
    return this.buffer.subarray(0, this.size);
  }

  /** Resolves with all bytes received once `done(bytes)` holds; rejects if the peer closes first. */
  until(done: (bytes: Buffer) => boolean, expectation = "more bytes"): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const bytes = this.bytes();
        if (done(bytes)) {
          this.waiters.delete(check);
          resolve(bytes);
        } else if (this.ended) {
          this.waiters.delete(check);
          reject(
            new Error(
              `The connection closed before ${expectation} arrived.\n  received: ${show(bytes)}`,
            ),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with all bytes received once the peer has closed its side. */
  untilEnd(): Promise<Buffer> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.ended) {
          this.waiters.delete(check);
          resolve(this.bytes());
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
