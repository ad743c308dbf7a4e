/** Step 3: the HAProxy configuration in front of the instances. */
import { todo } from "#shared/todo.ts";

export interface HaproxyOptions {
  /** The port HAProxy listens on for clients. */
  port: number;
  /** The instances behind it. */
  instances: readonly { name: string; port: number }[];
}

export function haproxyConfig(options: HaproxyOptions): string {
  return todo("lesson-13-scaling", "haproxyConfig()", "Step 3");
}
