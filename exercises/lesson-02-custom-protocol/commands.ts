import { todo } from "#shared/todo.ts";
import type { RespValue } from "./resp.ts";
import type { Store } from "./store.ts";

const L = "lesson-02-custom-protocol";

/**
 * The commands the server knows, and how a command's words become a reply. Error wordings are
 * Redis's own, because clients and people recognise them.
 */

/** A command, as the README describes it: its arity and what it does. */
interface Command {
  /** Redis's convention, counting the name: 2 means exactly 2 words, -3 means at least 3. */
  readonly arity: number;
  readonly run: (args: Buffer[], store: Store) => RespValue;
}

/** Runs one command. Never throws for bad input: every mistake becomes an error reply. */
export function execute(args: Buffer[], store: Store): RespValue {
  // TODO: Look the name up case-insensitively, in a Map: a command called `__proto__` or
  //       `constructor` is simply unknown. Unknown: `ERR unknown command 'FOO', with args
  //       beginning with: 'a' 'b' ` (Redis's processCommand: each argument as `'arg' ` while
  //       fewer than 128 characters are shown; CR and LF become spaces).
  // TODO: Check the arity (see Command): `ERR wrong number of arguments for 'get' command`, the
  //       name in lower case. PING takes at most one argument.
  // TODO: The commands and their replies are in the README's table (Step 3): PING, ECHO, SET,
  //       GET, DEL, EXISTS, INCR, and what clients send when they connect (INFO, CONFIG GET,
  //       CLIENT SETINFO, COMMAND DOCS).
  // TODO: SET reads its options as Redis 7 does (t_string.c): first every option after the
  //       value, case-insensitively (NX or XX, EX or PX with a number after it; repeating one
  //       is allowed, the last EX or PX wins; NX with XX or EX with PX, anything else, or a
  //       missing number: `ERR syntax error`), then the number: not a signed 64-bit integer:
  //       `ERR value is not an integer or out of range`; zero or less, or an expiry time past
  //       2^63 - 1 ms: `ERR invalid expire time in 'set' command`.
  // TODO: INCR: a missing key counts as 0; the largest 64-bit integer cannot be incremented:
  //       `ERR increment or decrement would overflow`; the key keeps its TTL.
  return todo(L, "execute()", "Step 3");
}
