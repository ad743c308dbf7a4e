/**
 * Every response the tests receive is checked against the API's documented contract: the
 * reference's OpenAPI document (Step 5). Filled in with the document; until then it checks nothing.
 */
import type { Reply } from "./helpers.ts";

export function checkContract(_method: string, _path: string, _reply: Reply): void {}
