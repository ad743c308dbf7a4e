/**
 * The same stream of messages, delivered by lesson 05's short and long polling and by this
 * lesson's push channels, Server-Sent Events and a WebSocket, side by side, from one run (the
 * README's "Measure it").
 *
 *   npm run bench -- lesson-07              (runs this file against the learner's code)
 *   npm run bench -- lesson-07 --solution   (against the reference solution)
 *
 * The harness is shared/bench/delivery.ts; the rows are in strategies.ts. The push rows run the
 * learner's server (or with --solution the reference's); the polling rows always run lesson 05's
 * reference: they are the baseline, so the bench runs once this lesson is done, whether or not
 * lesson 05 is. Figures depend on the machine; nothing here is asserted.
 */
import os from "node:os";
import { printDelivery, runDelivery, type DeliveryOptions } from "../../shared/bench/delivery.ts";
import { baselinePollingStrategies, pushStrategies } from "./strategies.ts";

const options: DeliveryOptions = {
  messages: Number(process.env.BENCH_MESSAGES ?? 100),
  meanGapMs: 200,
  seed: 5,
  drainMs: 3_000,
};
const strategies = [...baselinePollingStrategies, ...pushStrategies];

console.log(
  `lesson-07 bench: ${options.messages} messages, Poisson arrivals (mean gap ${options.meanGapMs} ms, ` +
    `seed ${options.seed}), delivered to every strategy at once, each from its own server on 127.0.0.1; ` +
    "the polling rows run lesson 05's reference, as the baseline",
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
    "\nthe polling rows are the baseline: lesson 05's reference server and clients, whoever's code the push rows run.",
);
