/**
 * Lesson 05's side of the delivery benchmark (shared/bench/delivery.ts): the feed server as a
 * target, and the polling strategies. It is a module of its own, not part of bench.ts, so that a
 * later lesson's bench can import these rows and add its own without running this lesson's bench.
 */
import { longPoll, shortPoll } from "#lesson/lesson-05-polling/client.ts";
import { MessageFeed } from "#lesson/lesson-05-polling/feed.ts";
import { createServer } from "#lesson/lesson-05-polling/server.ts";
import type { DeliveryStrategy, DeliveryTarget } from "../../shared/bench/delivery.ts";

/** The feed server: POST /messages to publish, a MessageFeed that says when it accepted one. */
export function feedTarget(): DeliveryTarget {
  // Room for the whole stream: a consumer that falls behind must not be cut off by the cap (410).
  const feed = new MessageFeed({ maxMessages: 100_000 });
  return {
    createServer: () => createServer({ feed }),
    async publish(origin, index) {
      const response = await fetch(`${origin}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ author: "bench", text: `message ${index}` }),
      });
      const body = await response.text();
      if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${body}`);
    },
    onAccepted(accepted) {
      feed.on("message", (message) => accepted(message.id));
    },
  };
}

async function deliverAll(
  messages: AsyncIterable<{ id: number }>,
  delivered: (id: number) => void,
): Promise<void> {
  for await (const message of messages) delivered(message.id);
}

export function shortPolling(intervalMs: number): DeliveryStrategy {
  return {
    name: `short poll, every ${intervalMs} ms`,
    target: feedTarget,
    consume: ({ origin, signal, delivered }) =>
      deliverAll(shortPoll({ url: `${origin}/messages`, intervalMs, signal }), delivered),
  };
}

export function longPolling(waitMs: number): DeliveryStrategy {
  return {
    name: `long poll, wait up to ${waitMs / 1000} s`,
    target: feedTarget,
    consume: ({ origin, signal, delivered }) =>
      deliverAll(longPoll({ url: `${origin}/messages`, waitMs, signal }), delivered),
  };
}

/** The rows this lesson adds to the table. */
export const pollingStrategies: DeliveryStrategy[] = [
  shortPolling(1_000),
  shortPolling(100),
  longPolling(25_000),
];
