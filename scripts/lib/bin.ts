import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ROOT } from "./lessons.ts";

const require = createRequire(path.join(ROOT, "package.json"));

/**
 * Runs a dev tool from node_modules with this Node, the same way on every OS (no shell, no
 * `.cmd` shims), in this process's environment or `env`. Resolves with its exit code and what it
 * printed.
 */
export function runBin(
  pkg: string,
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; output: string }> {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    bin: string | Record<string, string>;
  };
  const relative = typeof manifest.bin === "string" ? manifest.bin : manifest.bin[bin];
  if (!relative) throw new Error(`${pkg} has no bin named ${bin}`);
  const script = path.join(path.dirname(manifestPath), relative);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    // Decoded by the stream, so a UTF-8 character split across two chunks survives.
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (text: string) => (output += text));
    child.stderr.on("data", (text: string) => (output += text));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}
