/**
 * The same stream of messages, delivered by short polling (at two intervals) and by long polling,
 * side by side (the README's "Measure it").
 *
 *   npm run bench -- lesson-05              (runs this file against the learner's code)
 *   npm run bench -- lesson-05 --solution   (against the reference solution)
 *
 * The harness is shared/bench/delivery.ts; the strategies are in strategies.ts. Figures depend on
 * the machine; nothing here is asserted.
 */
import os from "node:os";
import { printDelivery, runDelivery, type DeliveryOptions } from "../../shared/bench/delivery.ts";
import { pollingStrategies } from "./strategies.ts";

const options: DeliveryOptions = {
  messages: Number(process.env.BENCH_MESSAGES ?? 100),
  meanGapMs: 200,
  seed: 5,
  drainMs: 3_000,
};

console.log(
  `lesson-05 bench: ${options.messages} messages, Poisson arrivals (mean gap ${options.meanGapMs} ms, ` +
    `seed ${options.seed}), delivered to every strategy at once, each from its own server on 127.0.0.1`,
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)`,
);
console.log(`Compared: ${pollingStrategies.map((s) => s.name).join("; ")}\n`);

const results = await runDelivery(pollingStrategies, options);
printDelivery(results, options);
console.log(
  "\nrequests and bytes are the consumer's only (the publisher posts through a second server);" +
    "\nbytes count both directions on the server's sockets, HTTP heads included, TCP/IP headers not;" +
    "\nlatency runs from the moment the feed accepted a message to the moment the consumer had it.",
);
