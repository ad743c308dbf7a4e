/**
 * The same stream of messages, delivered by lesson 05's short and long polling and by this
 * lesson's push channels, Server-Sent Events and a WebSocket, side by side, from one run (the
 * README's "Measure it").
 *
 *   npm run bench -- lesson-07              (runs this file against the learner's code)
 *   npm run bench -- lesson-07 --solution   (against the reference solution)
 *
 * The harness is shared/bench/delivery.ts; the polling rows are lesson 05's strategies.ts, the
 * push rows this lesson's. Figures depend on the machine; nothing here is asserted.
 */
import os from "node:os";
import { printDelivery, runDelivery, type DeliveryOptions } from "../../shared/bench/delivery.ts";
import { pollingStrategies } from "../lesson-05-polling/strategies.ts";
import { pushStrategies } from "./strategies.ts";

const options: DeliveryOptions = {
  messages: Number(process.env.BENCH_MESSAGES ?? 100),
  meanGapMs: 200,
  seed: 5,
  drainMs: 3_000,
};
const strategies = [...pollingStrategies, ...pushStrategies];

console.log(
  `lesson-07 bench: ${options.messages} messages, Poisson arrivals (mean gap ${options.meanGapMs} ms, ` +
    `seed ${options.seed}), delivered to every strategy at once, each from its own server on 127.0.0.1`,
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)`,
);
console.log(`Compared: ${strategies.map((s) => s.name).join("; ")}\n`);

const results = await runDelivery(strategies, options);
printDelivery(results, options);
console.log(
  "\nrequests and bytes are the consumer's only (the publisher posts through a second server);" +
    "\nbytes count both directions on the server's sockets, HTTP heads included, TCP/IP headers not;" +
    "\nlatency runs from the moment the feed accepted a message to the moment the consumer had it;" +
    "\nthe polling rows run lesson 05's server and clients (yours, or with --solution the reference's).",
);
