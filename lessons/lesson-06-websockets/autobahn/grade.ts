/**
 * Grading, as Autobahn|Testsuite's Case.onConnectionLost does it: the events received against each
 * expected outcome (the case's behaviour), and the way the connection ended against the expected
 * close (its closing behaviour). Autobahn reports the two side by side; the port folds them into
 * one grade the way its report colours them: a closing behaviour of FAILED or UNCLEAN fails the
 * case, WRONG CODE and FAILED BY CLIENT (the client had to drop the TCP connection) make it
 * NON-STRICT.
 */
import type { Exchange } from "./fuzzer.ts";
import type { AutobahnCase, Event, Grade } from "./table.ts";

export type CloseGrade =
  "OK" | "WRONG CODE" | "UNCLEAN" | "FAILED BY CLIENT" | "FAILED" | "INFORMATIONAL";

export interface Outcome {
  id: string;
  grade: Grade;
  behavior: Grade;
  behaviorClose: CloseGrade;
  /** Why, in protocol terms, when the grade is not OK. */
  reason: string;
  exchange: Exchange;
}

export function grade(kase: AutobahnCase, ex: Exchange): Outcome {
  let behavior: Grade = "FAILED";
  let behaviorClose: CloseGrade;
  const reasons: string[] = [];
  for (const [name, events] of Object.entries(kase.expected) as [Grade, Event[]][]) {
    if (sameEvents(ex.received, events)) {
      behavior = name;
      break;
    }
  }
  if (behavior === "FAILED") {
    reasons.push(`expected ${describeOutcomes(kase)}, received ${describeEvents(ex.received)}`);
  }
  if (!ex.opened) {
    return {
      id: kase.id,
      grade: "FAILED",
      behavior: "FAILED",
      behaviorClose: "FAILED",
      reason: `The opening handshake was never completed: ${ex.handshake}`,
      exchange: ex,
    };
  }
  const expected = kase.close;
  if (expected.closedByMe !== ex.closedByMe) {
    behaviorClose = "FAILED";
    reasons.push(
      expected.closedByMe
        ? "the server started the closing handshake, where the client should have"
        : "the server did not fail the connection: the client had to close it",
    );
    if (expected.wrongEndpointIsFatal) behavior = "FAILED";
  } else if (expected.requireClean && !ex.wasClean) {
    behaviorClose = "UNCLEAN";
    reasons.push(
      ex.closeReceived
        ? "the server sent its Close but did not close the TCP connection: the client had to (RFC 6455 §7.1.1: the server closes it first)"
        : "the connection ended without a completed closing handshake: no Close frame from the server (RFC 6455 §5.5.1)",
    );
  } else if (ex.remoteCloseCode !== undefined && !expected.codes.includes(ex.remoteCloseCode)) {
    behaviorClose = "WRONG CODE";
    reasons.push(
      `the server closed with ${ex.remoteCloseCode}, not ${expected.codes.join(" or ")} (or no code)`,
    );
  } else if (ex.droppedByMe) {
    behaviorClose = "FAILED BY CLIENT";
    reasons.push(
      "the server did not close the TCP connection after the closing handshake: the client did",
    );
  } else {
    behaviorClose = "OK";
  }
  if (kase.wrongCodeFails && behaviorClose === "WRONG CODE") behavior = "FAILED";
  if (ex.violations.length > 0) {
    behavior = "FAILED";
    reasons.unshift(`the server sent ${ex.violations.join("; ")}`);
  }
  if (kase.informational && ex.violations.length === 0) {
    return {
      id: kase.id,
      grade: "INFORMATIONAL",
      behavior: "INFORMATIONAL",
      behaviorClose: "INFORMATIONAL",
      reason: `received ${describeEvents(ex.received)}, close code ${ex.remoteCloseCode ?? "none"}`,
      exchange: ex,
    };
  }
  let combined: Grade = behavior;
  if (behavior !== "FAILED" && (behaviorClose === "FAILED" || behaviorClose === "UNCLEAN"))
    combined = "FAILED";
  else if (
    behavior === "OK" &&
    (behaviorClose === "WRONG CODE" || behaviorClose === "FAILED BY CLIENT")
  ) {
    combined = "NON-STRICT";
  }
  if (behavior === "NON-STRICT")
    reasons.unshift(`received ${describeEvents(ex.received)}, the non-strict outcome`);
  return {
    id: kase.id,
    grade: combined,
    behavior,
    behaviorClose,
    reason: reasons.join("; "),
    exchange: ex,
  };
}

function describeOutcomes(kase: AutobahnCase): string {
  return Object.entries(kase.expected)
    .map(([name, events]) => `${describeEvents(events)} (${name})`)
    .join(" or ");
}

/** Events in a line: `[message text 13 bytes "Hello, world!", pong 0 bytes]`. */
export function describeEvents(events: readonly Event[]): string {
  const one = (e: Event): string => {
    if (e.kind === "timeout") return `no close during pause ${e.tag}`;
    const kind = e.kind === "message" ? `${e.binary ? "binary" : "text"} message` : e.kind;
    const preview = e.data.subarray(0, 24);
    const shown =
      e.kind === "message" && e.binary
        ? preview.toString("hex")
        : JSON.stringify(preview.toString("latin1"));
    return `${kind} ${e.data.length} bytes ${shown}${e.data.length > 24 ? "..." : ""}`;
  };
  return events.length === 0 ? "nothing" : `[${events.map(one).join(", ")}]`;
}

/** Autobahn compares event lists whole: same kinds, same bytes, same order. */
export function sameEvents(a: readonly Event[], b: readonly Event[]): boolean {
  return a.length === b.length && a.every((event, i) => sameEvent(event, b[i] as Event));
}

function sameEvent(a: Event, b: Event): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "timeout" || b.kind === "timeout") {
    return a.kind === "timeout" && b.kind === "timeout" && a.tag === b.tag;
  }
  if (a.kind === "message" && b.kind === "message" && a.binary !== b.binary) return false;
  return a.data.equals(b.data);
}
