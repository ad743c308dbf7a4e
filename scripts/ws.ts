// npm run ws -- <ws://host:port/path> [--protocol P] [--header "Name: value"] [--origin O]
//
// A WebSocket client for trying servers by hand, the same on every OS (no wscat needed): each
// line typed (or piped) goes out as a text message, every message that comes back is printed
// (text as it is, binary as hex), and the end of input closes with 1000.
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { dim } from "./lib/style.ts";

const usage =
  'npm run ws -- <ws://host:port/path> [--protocol P] [--header "Name: value"] [--origin O] [--help]';
const help = `Usage: ${usage}

Opens a WebSocket to the URL (ws:// or wss://), then:
  - sends each line you type, or each line of a pipe, as one text message;
  - prints each message that comes back: text as it is after ←, binary as hex after ← (binary);
  - at the end of your input (Ctrl-D, or Ctrl-Z then Enter on Windows, or the end of a pipe), or
    on Ctrl-C, starts the closing handshake with 1000, and prints the code and reason the
    server closes with.

Options (each may be given more than once, except --origin):
  --protocol P        offer the subprotocol P (Sec-WebSocket-Protocol)
  --header "N: v"     send the header field N with the value v in the opening handshake
  --origin O          send Origin: O, as a browser on the page O would

If the server refuses the handshake, the status line it answered with is printed and the
command exits with 1. Compression (permessage-deflate) is not offered, so --trace on the
server's side shows the frames as they are.

Examples (lesson 06's servers, from npm run serve -- lesson-06):
  npm run ws -- ws://localhost:8096/echo
  npm run ws -- "ws://localhost:8096/chat?access_token=ada"
      the chat reads its token from the query string, as a browser has to send it; the quotes
      keep ? from the shell; then type {"type":"join","room":"lobby"}
  npm run ws -- ws://localhost:8096/echo --origin http://evil.example
      an Origin the server does not allow: the handshake is refused with 403
For a server that reads the Authorization header (no browser can send one on a WebSocket):
  npm run ws -- wss://example.org/socket --header "Authorization: Bearer TOKEN"`;

// The arguments by hand: --header and --protocol repeat, and a header value has spaces.
const argv = process.argv.slice(2);
const protocols: string[] = [];
const headers: Record<string, string> = Object.create(null) as Record<string, string>;
let origin: string | undefined;
let url: string | undefined;
const fail = (problem: string): never => {
  console.error(`${problem}\nUsage: ${usage}`);
  process.exit(2);
};
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i] as string;
  const value = (): string => {
    const next = argv[++i];
    if (next === undefined || next.startsWith("--")) fail(`${arg} needs a value.`);
    return next as string;
  };
  if (arg === "--help") {
    console.log(help);
    process.exit(0);
  } else if (arg === "--protocol") protocols.push(value());
  else if (arg === "--origin") origin = value();
  else if (arg === "--header") {
    const field = value();
    const colon = field.indexOf(":");
    if (colon <= 0) fail(`A header is "Name: value": ${JSON.stringify(field)}`);
    headers[field.slice(0, colon).trim()] = field.slice(colon + 1).trim();
  } else if (arg.startsWith("-")) fail(`Unknown option: ${arg}`);
  else if (url === undefined) url = arg;
  else fail("One URL only.");
}
if (url === undefined) fail("Name a ws:// URL.");
let target: URL;
try {
  target = new URL(url as string);
} catch {
  fail(`Not a URL: ${JSON.stringify(url)}`);
}
if (target!.protocol !== "ws:" && target!.protocol !== "wss:") {
  fail(`A WebSocket URL starts with ws:// or wss://, not ${target!.protocol}//`);
}

const status = (text: string): void => console.log(dim(text));
const ws = new WebSocket(target!, protocols, {
  perMessageDeflate: false,
  headers,
  ...(origin === undefined ? {} : { origin }),
});

// A refused handshake: the server's status line, and whatever body explains it.
ws.on("unexpected-response", (_request, response) => {
  const chunks: Buffer[] = [];
  response.on("data", (chunk: Buffer) => chunks.push(chunk));
  response.on("end", () => {
    console.error(
      `The server refused the WebSocket handshake: HTTP/${response.httpVersion} ${response.statusCode} ${response.statusMessage}`,
    );
    const body = Buffer.concat(chunks).toString("utf8").trim();
    if (body) console.error(body.slice(0, 500));
    process.exit(1);
  });
});
ws.on("error", (error: Error) => {
  console.error(`WebSocket error: ${error.message}`);
  process.exit(1);
});

ws.on("open", () => {
  const chosen = ws.protocol ? `, subprotocol ${JSON.stringify(ws.protocol)}` : "";
  status(`Connected to ${target.href}${chosen}.`);
  if (process.stdin.isTTY) {
    status("Each line you type is sent as a text message. Ctrl-D or Ctrl-C closes (1000).");
  }
  const input = createInterface({ input: process.stdin, terminal: false });
  input.on("line", (line) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(line);
  });
  input.on("close", () => closeNormally());
});

ws.on("message", (data: Buffer, isBinary: boolean) => {
  if (isBinary) console.log(`← (binary, ${data.length} bytes) ${data.toString("hex")}`);
  else console.log(`← ${data.toString("utf8")}`);
});

ws.on("close", (code: number, reason: Buffer) => {
  const why = reason.length > 0 ? ` ${JSON.stringify(reason.toString("utf8"))}` : "";
  status(`Closed: ${code}${why}.`);
  process.exit(0);
});

function closeNormally(): void {
  if (ws.readyState === WebSocket.OPEN) {
    status("Closing (1000)...");
    ws.close(1000);
  } else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
}
process.on("SIGINT", () => {
  if (ws.readyState === WebSocket.CLOSING) ws.terminate(); // a second Ctrl-C: do not wait
  closeNormally();
});
