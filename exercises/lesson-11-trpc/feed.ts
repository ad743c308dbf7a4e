/** The feed of lesson 05 as a tRPC subscription over server-sent events. A first version. */
import { router } from "./trpc.ts";

export const feedRouter = router({});
