import { execFile } from "node:child_process";
import { describe, test } from "vitest";
import { hasTool } from "#shared/processes.ts";

export { hasTool };

/** Whether this is a CI run: CI=true (or any value but "false" and "0"). */
export const isCI = !!process.env.CI && process.env.CI !== "false" && process.env.CI !== "0";

/**
 * `test` for a check that drives an outside client such as curl or redis-cli. Under CI the test
 * always runs, and fails if the tool is missing. Elsewhere it is skipped, and its name says what
 * to install.
 */
export function testWithTool(tool: string, install: string): typeof test {
  if (hasTool(tool) || isCI) return test;
  return ((name: string, ...rest: unknown[]) =>
    (test.skip as (...args: unknown[]) => void)(
      `${name} (skipped: ${tool} not found; ${install})`,
      ...rest,
    )) as typeof test;
}

/** `describe` for a group of tests that all need an outside tool; the same rules as testWithTool. */
export function describeWithTool(tool: string, install: string): typeof describe {
  if (hasTool(tool) || isCI) return describe;
  return ((name: string, ...rest: unknown[]) =>
    (describe.skip as (...args: unknown[]) => void)(
      `${name} (skipped: ${tool} not found; ${install})`,
      ...rest,
    )) as typeof describe;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs an outside tool without blocking the event loop: the server under test lives in this same
 * process, so a synchronous spawn would stop it from answering.
 */
export function run(
  tool: string,
  args: string[],
  options: { input?: string | Buffer; timeout?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      args,
      { timeout: options.timeout ?? 4_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}
