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

const OK = simple("OK");
const NOT_AN_INTEGER = error("ERR value is not an integer or out of range");
const SYNTAX_ERROR = error("ERR syntax error");
const INVALID_EXPIRE_TIME = error("ERR invalid expire time in 'set' command");

/** Runs one command. Never throws for bad input: every mistake becomes an error reply. */
export function execute(args: Buffer[], store: Store): RespValue {
  const name = (args[0] as Buffer).toString("latin1");
  // A Map, not an object: a command called `__proto__` or `constructor` is simply unknown.
  const command = COMMANDS.get(name.toLowerCase());
  if (command === undefined) return unknownCommand(args);
  const { arity } = command;
  if (arity > 0 ? args.length !== arity : args.length < -arity) {
    return error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
  }
  return command.run(args, store);
}

/** `ERR unknown command 'FOO', with args beginning with: 'a' 'b' ` (Redis's processCommand). */
function unknownCommand(args: Buffer[]): RespValue {
  let shown = "";
  for (const arg of args.slice(1)) {
    if (shown.length >= 128) break;
    shown += `'${text(arg).slice(0, 128 - shown.length)}' `;
  }
  // An error reply is one line, so CR and LF from the input become spaces, as Redis does.
  const message = `ERR unknown command '${text(args[0] as Buffer).slice(0, 128)}', with args beginning with: ${shown}`;
  return error(message.replace(/[\r\n]/g, " "));
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
  // The arity -1 lets any count through; like Redis, PING itself refuses a second argument.
  if (args.length > 2) return error("ERR wrong number of arguments for 'ping' command");
  return args.length === 1 ? simple("PONG") : bulk(args[1] as Buffer);
}

function echo(args: Buffer[]): RespValue {
  return bulk(args[1] as Buffer);
}

/** GET key: the value, or the null bulk string `$-1` when there is none. */
function get(args: Buffer[], store: Store): RespValue {
  const value = store.get(args[1] as Buffer);
  return value === undefined ? NULL_BULK : bulk(value);
}

/** DEL key [key ...]: how many of the keys existed. */
function del(args: Buffer[], store: Store): RespValue {
  return integer(args.slice(1).filter((key) => store.delete(key)).length);
}

/** EXISTS key [key ...]: counts a key as often as it is named, so `EXISTS a a` is 2. */
function exists(args: Buffer[], store: Store): RespValue {
  return integer(args.slice(1).filter((key) => store.has(key)).length);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * SET key value [NX | XX] [EX seconds | PX milliseconds], read in two passes as Redis 7 reads it
 * (parseExtendedStringArgumentsOrReply() in t_string.c): first every option, then the expire time.
 * So `SET k v EX abc FOO` is a syntax error (FOO), not a bad number. An option may be repeated
 * (`NX NX`; the last `EX` wins); `NX` with `XX`, or `EX` with `PX`, is a syntax error.
 */
function set(args: Buffer[], store: Store): RespValue {
  const [, key, value] = args as [Buffer, Buffer, Buffer];
  let condition: "NX" | "XX" | undefined;
  let expire: { unit: "EX" | "PX"; amount: Buffer } | undefined;
  for (let i = 3; i < args.length; i++) {
    const option = text(args[i] as Buffer).toUpperCase();
    const amount = args[i + 1];
    if ((option === "NX" || option === "XX") && (condition ?? option) === option) {
      condition = option;
    } else if (
      (option === "EX" || option === "PX") &&
      (expire?.unit ?? option) === option &&
      amount !== undefined
    ) {
      expire = { unit: option, amount };
      i++;
    } else {
      return SYNTAX_ERROR;
    }
  }
  let expiresAt: number | undefined;
  if (expire !== undefined) {
    const n = parseInt64(expire.amount);
    if (n === undefined) return NOT_AN_INTEGER;
    // getExpireMillisecondsOrReply(): positive, and the expiry time in ms must fit in 64 bits
    // (bigint arithmetic cannot overflow, so one check after the sum does).
    const at = BigInt(store.now()) + (expire.unit === "EX" ? n * 1000n : n);
    if (n <= 0n || at > INT64_MAX) return INVALID_EXPIRE_TIME;
    // A number is exact only up to 2^53 ms, 285,000 years from now: a key set to expire later
    // than that gets a rounded expiry time, which no one will live to see.
    expiresAt = Number(at);
  }
  if (condition !== undefined && store.has(key) !== (condition === "XX")) return NULL_BULK;
  store.set(key, value, expiresAt);
  return OK;
}

function incr(args: Buffer[], store: Store): RespValue {
  const key = args[1] as Buffer;
  const current = store.get(key);
  const n = current === undefined ? 0n : parseInt64(current);
  if (n === undefined) return NOT_AN_INTEGER;
  if (n === INT64_MAX) return error("ERR increment or decrement would overflow");
  // Redis keeps a key's TTL across INCR.
  store.set(key, Buffer.from(String(n + 1n)), "keep");
  return integer(n + 1n);
}

/**
 * ioredis sends INFO before its first command (its "ready check") and waits while the reply says
 * `loading:1`. An error reply would fail the connection, so INFO answers with a few real fields.
 */
function info(): RespValue {
  const lines = [
    "# Server",
    "redis_version:7.0.0",
    "redis_mode:standalone",
    "",
    "# Persistence",
    "loading:0",
  ];
  return bulk(lines.map((line) => `${line}\r\n`).join(""));
}

/** redis-benchmark sends `CONFIG GET save` and `CONFIG GET appendonly` before it starts. */
const SETTINGS = new Map([
  ["save", ""],
  ["appendonly", "no"],
]);

function config(args: Buffer[]): RespValue {
  const sub = text(args[1] as Buffer);
  if (sub.toLowerCase() !== "get") return unknownSubcommand(sub, "CONFIG");
  if (args.length < 3) return error("ERR wrong number of arguments for 'config|get' command");
  // A name and a value for each setting known; an unknown name is left out, as Redis does.
  const reply: RespValue[] = [];
  for (const name of args.slice(2).map(text)) {
    const value = SETTINGS.get(name.toLowerCase());
    if (value !== undefined) reply.push(bulk(name.toLowerCase()), bulk(value));
  }
  return array(reply);
}

/**
 * redis-cli sends COMMAND DOCS when it starts, for its hints. An empty array means "no docs":
 * redis-cli carries on without hints.
 */
function command(): RespValue {
  return array([]);
}

/** ioredis sends `CLIENT SETINFO LIB-NAME ioredis` and `LIB-VER`; both are accepted. */
function client(args: Buffer[]): RespValue {
  const sub = text(args[1] as Buffer);
  if (["setinfo", "setname"].includes(sub.toLowerCase())) return OK;
  return unknownSubcommand(sub, "CLIENT");
}

function unknownSubcommand(sub: string, command: string): RespValue {
  return error(
    `ERR unknown subcommand '${sub.slice(0, 128).replace(/[\r\n]/g, " ")}'. Try ${command} HELP.`,
  );
}

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
