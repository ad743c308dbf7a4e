import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lessons.ts";

/**
 * The untouched stubs live in git, not in the working tree, where a learner's answers are.
 * The check reads them as committed (HEAD). Reset prefers the branch this clone tracks, the
 * course as published, so that it still finds the stubs after a learner commits answers.
 */
export function pristineRef(from: "HEAD" | "upstream" = "HEAD"): string | undefined {
  if (from === "upstream") {
    const upstream = git(["rev-parse", "--verify", "--quiet", "@{upstream}"]);
    if (upstream !== undefined) return upstream.trim();
  }
  return git(["rev-parse", "--verify", "--quiet", "HEAD"])?.trim();
}

/** The files under `folder` (e.g. "exercises/lesson-02-custom-protocol") at `ref`. */
export function filesAt(ref: string, folder: string): string[] {
  const out = git(["ls-tree", "-r", "-z", "--name-only", ref, "--", folder]);
  return out ? out.split("\0").filter(Boolean) : [];
}

/** A file's bytes at `ref`. */
export function readAt(ref: string, file: string): Buffer {
  return execFileSync("git", ["show", `${ref}:${file}`], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface Materialized {
  ref: string | undefined;
  /** Files taken from the working tree because git has no committed version of them. */
  uncommitted: string[];
}

/**
 * Writes the stubs, as committed, to `target` (mirroring exercises/). A file the ref does not
 * have (a lesson still being written) is copied from the working tree and listed.
 */
export function materializeStubs(target: string): Materialized {
  rmSync(target, { recursive: true, force: true });
  const ref = pristineRef();
  const committed = new Set(ref ? filesAt(ref, "exercises") : []);
  const into = (file: string): string => path.join(target, path.relative("exercises", file));
  for (const file of committed) write(into(file), readAt(ref as string, file));
  const uncommitted: string[] = [];
  for (const file of walk(path.join(ROOT, "exercises"))) {
    const rel = path.relative(ROOT, file).split(path.sep).join("/");
    if (committed.has(rel)) continue;
    uncommitted.push(rel);
    write(into(rel), readFileSync(file));
  }
  return { ref, uncommitted };
}

/**
 * The files under `folder` that differ from HEAD or that git does not track, as paths from the
 * project root. Empty outside a git checkout.
 */
export function changedFiles(folder: string): string[] {
  // -z: one NUL-terminated "XY path" entry per file, with no quoting of unusual names.
  const out = git(["status", "--porcelain", "-z", "--", folder]);
  return out
    ? out
        .split("\0")
        .filter((entry) => entry.length > 3)
        .map((entry) => entry.slice(3))
    : [];
}

function write(file: string, bytes: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

function* walk(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
}

/**
 * The files under `folder` that differ from the course as published (the branch this clone
 * tracks, else HEAD), answers a learner has committed included, and the files git does not track.
 * Undefined outside a git checkout, where nothing tells a learner's files from the stubs.
 */
export function changedSincePublished(folder: string): string[] | undefined {
  const ref = pristineRef("upstream");
  if (ref === undefined) return undefined;
  const tracked = git(["diff", "--name-only", "-z", ref, "--", folder]) ?? "";
  const untracked = git(["ls-files", "--others", "--exclude-standard", "-z", "--", folder]) ?? "";
  return [...new Set([...tracked.split("\0"), ...untracked.split("\0")].filter(Boolean))];
}
