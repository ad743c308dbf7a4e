import { todo } from "#shared/todo.ts";
import { array, bulk, error, integer, NULL_BULK, simple, type RespValue } from "./resp.ts";
import type { Store } from "./store.ts";

/**
 * The commands the server knows, and how a command's words become a reply. Error wordings are
 * Redis's own, because clients and people recognise them.
 */

interface Command {
  /** Redis's convention, counting the name: 2 means exactly 2 words, -3 means at least 3. */
  readonly arity: number;
  readonly run: (args: Buffer[], store: Store) => RespValue;
}

const L = "lesson-02-custom-protocol";

const OK = simple("OK");
const NOT_AN_INTEGER = error("ERR value is not an integer or out of range");
const SYNTAX_ERROR = error("ERR syntax error");

/** Runs one command. Never throws for bad input: every mistake becomes an error reply. */
export function execute(args: Buffer[], store: Store): RespValue {
  // TODO: Look the name up in COMMANDS, lower-cased. A Map, not an object: a command called
  //       `__proto__` or `constructor` is simply unknown.
  // TODO: Unknown: unknownCommand(args).
  // TODO: Check the arity: `ERR wrong number of arguments for 'get' command` (name lower-cased).
  // TODO: Run it.
  return todo(L, "execute()", "Step 3");
}

/** `ERR unknown command 'FOO', with args beginning with: 'a' 'b' ` (Redis's processCommand). */
function unknownCommand(args: Buffer[]): RespValue {
  // TODO: Show the arguments, each as `'arg' `, while fewer than 128 characters are shown.
  // TODO: An error reply is one line, so CR and LF from the input become spaces, as Redis does.
  return todo(L, "unknownCommand()", "Step 3");
}

const COMMANDS = new Map<string, Command>([
  ["ping", { arity: -1, run: ping }],
  ["echo", { arity: 2, run: echo }],
  ["get", { arity: 2, run: get }],
  ["set", { arity: -3, run: set }],
  ["del", { arity: -2, run: del }],
  ["exists", { arity: -2, run: exists }],
  ["incr", { arity: 2, run: incr }],
  // What clients send when they connect (see the lesson's README).
  ["info", { arity: -1, run: info }],
  ["config", { arity: -2, run: config }],
  ["client", { arity: -2, run: client }],
  ["command", { arity: -1, run: command }],
]);

/** PING [message]: +PONG, or the message back as a bulk string. */
function ping(args: Buffer[]): RespValue {
  // TODO: The arity -1 lets any count through; like Redis, PING itself refuses a second
  //       argument: `ERR wrong number of arguments for 'ping' command`.
  return todo(L, "ping()", "Step 3");
}

function echo(args: Buffer[]): RespValue {
  return todo(L, "echo()", "Step 3");
}

/** GET key: the value, or the null bulk string `$-1` when there is none. */
function get(args: Buffer[], store: Store): RespValue {
  return todo(L, "get()", "Step 3");
}

/** DEL key [key ...]: how many of the keys existed. */
function del(args: Buffer[], store: Store): RespValue {
  return todo(L, "del()", "Step 3");
}

/** EXISTS key [key ...]: counts a key as often as it is named, so `EXISTS a a` is 2. */
function exists(args: Buffer[], store: Store): RespValue {
  return todo(L, "exists()", "Step 3");
}

/** SET key value [NX | XX] [EX seconds | PX milliseconds] */
function set(args: Buffer[], store: Store): RespValue {
  // TODO: Read the options after the value, case-insensitively. NX or XX once; EX or PX once,
  //       followed by a number. Anything else, or a missing number: SYNTAX_ERROR.
  // TODO: A number that is not an integer: NOT_AN_INTEGER. Zero or less (or too large):
  //       `ERR invalid expire time in 'set' command`. EX counts seconds, PX milliseconds.
  // TODO: NX with an existing key, or XX with a missing one: the null bulk string, nothing set.
  // TODO: Store the value with its expiry time on the store's clock (none removes any TTL).
  return todo(L, "set()", "Step 3");
}

/** INCR key */
function incr(args: Buffer[], store: Store): RespValue {
  // TODO: A missing key counts as 0. A value that is not a 64-bit integer: NOT_AN_INTEGER.
  // TODO: At the largest 64-bit integer: `ERR increment or decrement would overflow`.
  // TODO: Store the new value as its decimal text, keeping the key's TTL (Redis does).
  return todo(L, "incr()", "Step 3");
}

/**
 * ioredis sends INFO before its first command (its "ready check") and waits while the reply says
 * `loading:1`. An error reply would fail the connection, so INFO answers with a few real fields.
 */
function info(): RespValue {
  // TODO: A bulk string of `# Section` headers and `field:value` lines, each ended by CRLF:
  //       redis_version and redis_mode under `# Server`, `loading:0` under `# Persistence`.
  return todo(L, "info()", "Step 3");
}

/** redis-benchmark sends `CONFIG GET save` and `CONFIG GET appendonly` before it starts. */
const SETTINGS = new Map([
  ["save", ""],
  ["appendonly", "no"],
]);

function config(args: Buffer[]): RespValue {
  // TODO: Only GET: anything else is unknownSubcommand(sub, "CONFIG").
  // TODO: `CONFIG GET` with no name: `ERR wrong number of arguments for 'config|get' command`.
  // TODO: An array with a name and a value for each setting known; an unknown name is left
  //       out, as Redis does.
  return todo(L, "config()", "Step 3");
}

/**
 * redis-cli sends COMMAND DOCS when it starts, for its hints. An empty array means "no docs":
 * redis-cli carries on without hints.
 */
function command(): RespValue {
  return todo(L, "command()", "Step 3");
}

/** ioredis sends `CLIENT SETINFO LIB-NAME ioredis` and `LIB-VER`; both are accepted. */
function client(args: Buffer[]): RespValue {
  // TODO: SETINFO and SETNAME: OK. Anything else: unknownSubcommand(sub, "CLIENT").
  return todo(L, "client()", "Step 3");
}

// Given: small helpers.

function unknownSubcommand(sub: string, command: string): RespValue {
  return error(
    `ERR unknown subcommand '${sub.slice(0, 128).replace(/[\r\n]/g, " ")}'. Try ${command} HELP.`,
  );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A signed 64-bit decimal, strictly: `12`, `-7`; not ` 1`, `+1`, `01` or `1.0`. */
function parseInt64(bytes: Buffer): bigint | undefined {
  const digits = bytes.toString("latin1");
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(digits)) return undefined;
  const n = BigInt(digits);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function text(bytes: Buffer): string {
  return bytes.toString("utf8");
}
