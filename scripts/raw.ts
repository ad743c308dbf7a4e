// npm run raw -- [HOST:]PORT [--file F] [--wait S]: a raw TCP client for trying servers by hand.
//
// What nc does for the course, the same on every OS: each line typed (or piped) goes out with
// CRLF, --file sends a file's bytes as they are, and every byte that comes back is printed
// escaped, so `\r\n` and bytes that do not print can be seen. Run with --help for the rules.
import { readFileSync } from "node:fs";
import net from "node:net";
import { createInterface, type Interface } from "node:readline";
import { show } from "../shared/testing/bytes.ts";
import { parseArgs } from "./lib/args.ts";
import { dim } from "./lib/style.ts";
import { MAX_SHOWN_PER_LINE, splitAfterNewlines } from "./lib/trace.ts";

const usage = "npm run raw -- [HOST:]PORT [--file F] [--wait SECONDS] [--help]";
const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_WAIT_S = 2;
const help = `Usage: ${usage}

Connects to HOST:PORT (HOST is ${DEFAULT_HOST} when only a port is given), then:
  - sends each line you type, or each line of a pipe, with CRLF ("\\r\\n") line ends;
  - with --file F, first sends the bytes of F exactly as they are, then reads lines as above;
  - prints what you send (from a pipe or a file) after →, what comes back after ←, escaped:
    \\r, \\n and \\t as written, \\" and \\\\, other bytes outside printable ASCII as \\xNN;
  - says when the server half-closes (FIN: it will send no more) and when it closes.

When it ends:
  - when the server closes the connection;
  - Ctrl-C closes the connection at once;
  - at the end of your input (Ctrl-D, or Ctrl-Z then Enter on Windows, or the end of a pipe) it
    half-closes its side (sends FIN) and keeps printing what comes back until the server closes,
    or until the server has sent nothing for --wait seconds (default ${DEFAULT_WAIT_S}).

Examples:
  npm run raw -- 6380                        then type PING and press Enter
  echo PING | npm run raw -- 6380
  npm run raw -- localhost:8080 --file lessons/<lesson>/wire/request.txt`;

const args = parseArgs(process.argv.slice(2), {
  usage,
  flags: ["help"],
  values: ["file", "wait"],
});
if (args.flags.has("help")) {
  console.log(help);
  process.exit(0);
}

/** "6380", "localhost:6380", "[::1]:6380". */
function parseTarget(text: string | undefined): { host: string; port: number } {
  const match = text?.match(/^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(
      `${text === undefined ? "Name a port" : `Not a port or HOST:PORT: ${JSON.stringify(text)}`}.\nUsage: ${usage}`,
    );
    process.exit(2);
  }
  return { host: match[1]?.replace(/^\[|\]$/g, "") ?? DEFAULT_HOST, port };
}

const { host, port } = parseTarget(args.positional[0]);
if (args.positional.length > 1) {
  console.error(`One address only.\nUsage: ${usage}`);
  process.exit(2);
}
const waitS = Number(args.values.get("wait") ?? DEFAULT_WAIT_S);
if (!Number.isFinite(waitS) || waitS <= 0) {
  console.error(`--wait takes a number of seconds above 0.\nUsage: ${usage}`);
  process.exit(2);
}
const fileName = args.values.get("file");
let file: Buffer | undefined;
if (fileName !== undefined) {
  try {
    file = readFileSync(fileName);
  } catch (err) {
    console.error(`Cannot read ${fileName}: ${(err as Error).message}`);
    process.exit(2);
  }
}

const typing = process.stdin.isTTY === true;
const status = (text: string): void => console.log(dim(text));
const print = (arrow: string, bytes: Buffer): void => {
  for (const line of splitAfterNewlines(bytes))
    console.log(`${arrow} ${show(line, MAX_SHOWN_PER_LINE)}`);
};

const socket = net.connect({ host, port, allowHalfOpen: true });
// Each line leaves as its own segment, as typed.
socket.setNoDelay(true);
let received = 0;
let sent = 0;
let quiet: NodeJS.Timeout | undefined;
let input: Interface | undefined;
/** After our FIN: wait for the server to close, or give up once it has been quiet for a while. */
let inputDone = false;

function send(bytes: Buffer, echo: boolean): void {
  if (!socket.writable) return;
  socket.write(bytes);
  sent += bytes.length;
  if (echo) print("→", bytes);
}

function armQuiet(): void {
  if (!inputDone) return;
  clearTimeout(quiet);
  quiet = setTimeout(() => {
    status(`(nothing more from the server for ${waitS} s, and it has not closed: closing)`);
    socket.destroy();
  }, waitS * 1000);
}

socket.on("connect", () => {
  status(`Connected to ${host}:${port}.`);
  if (typing) {
    status("Each line you type is sent with CRLF. Ctrl-D ends your side (FIN), Ctrl-C closes.");
  }
  if (file) {
    status(`Sending ${fileName} as it is: ${file.length} byte${file.length === 1 ? "" : "s"}.`);
    send(file, true);
  }
  input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on("line", (line) => send(Buffer.from(`${line}\r\n`), !typing));
  input.on("close", () => {
    if (!socket.writable) return;
    inputDone = true;
    socket.end();
    status("(end of your input: FIN sent; waiting for the server)");
    armQuiet();
  });
});

socket.on("data", (chunk: Buffer) => {
  received += chunk.length;
  print("←", chunk);
  armQuiet();
});

socket.on("end", () => {
  status("← FIN: the server half-closed its side and will send no more.");
});

socket.on("close", () => {
  clearTimeout(quiet);
  status(`Connection closed (sent ${sent} bytes, received ${received}).`);
  // stdin may still be open (a terminal): the conversation is over all the same. Letting Node
  // end on its own, rather than process.exit(), prints all of the output first.
  input?.close();
  process.stdin.destroy();
});

socket.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "ECONNREFUSED") {
    console.error(
      `Nothing is listening on ${host}:${port}. Is the server running (npm run serve)?`,
    );
  } else if (err.code === "ECONNRESET") {
    console.error("The server reset the connection (RST): it closed without reading everything.");
  } else {
    console.error(`Connection to ${host}:${port} failed: ${err.message}`);
  }
  process.exit(1);
});

process.on("SIGINT", () => {
  status("\n(Ctrl-C: closing)");
  socket.destroy();
});
