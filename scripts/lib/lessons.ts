import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root folder, wherever the course was cloned. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** `lessons/<name>/lesson.json`: what the scripts need to know about a lesson. */
export interface LessonManifest {
  /** A short title: "TCP sockets". */
  title: string;
  /** One line on what the learner builds. */
  summary: string;
  /** The lesson's server, for `npm run serve`. Absent when the lesson has none. */
  server?: ServerManifest;
  /**
   * Other servers of the lesson, by name: `npm run serve -- <lesson> <name>` starts one (lesson
   * 10's interop TestService beside its UserService).
   */
  servers?: Record<string, ServerManifest>;
  /** A script in lessons/<name>/ that `npm run bench` runs against the reference solution. */
  bench?: string;
  /** Options the bench takes beyond --solution, each with what it does: `{ "rtt": "..." }`. */
  benchOptions?: Record<string, string>;
}

/** A server `npm run serve` can start. */
export interface ServerManifest {
  /** File in exercises/<name>/ and solutions/<name>/. */
  module: string;
  /**
   * Named export: a function that takes no arguments and returns an unstarted server: a
   * net.Server (http, http2, ...), which `npm run serve` starts with listen(), or a grpc-js
   * Server (it has bindAsync), bound without TLS and stopped with tryShutdown, then
   * forceShutdown after a short grace.
   */
  export: string;
  /** Port used when `--port` is not given. */
  defaultPort: number;
  /** Commands to try against it; `{port}` is replaced by the port. */
  try: string[];
}

export interface Lesson extends LessonManifest {
  /** Folder name in lessons/, exercises/ and solutions/: "lesson-02-custom-protocol". */
  name: string;
  /** "02" */
  number: string;
}

export function listLessons(): Lesson[] {
  return readdirSync(path.join(ROOT, "lessons"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^lesson-\d\d-/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = path.join(ROOT, "lessons", name, "lesson.json");
      // A lesson still being written may have no manifest yet; it is listed by its folder name.
      const manifest: LessonManifest = existsSync(file)
        ? (JSON.parse(readFileSync(file, "utf8")) as LessonManifest)
        : { title: name.slice("lesson-NN-".length).replaceAll("-", " "), summary: "" };
      return { ...manifest, name, number: name.slice("lesson-".length, "lesson-".length + 2) };
    });
}

/** Finds a lesson by "lesson-02", "02", "2" or its full folder name; exits with a list if none matches. */
export function findLesson(query: string | undefined): Lesson {
  const lessons = listLessons();
  const wanted = query?.replace(/^lesson-/, "") ?? "";
  const lesson = lessons.find(
    (l) =>
      l.name === query ||
      l.number === wanted.padStart(2, "0") ||
      l.name.startsWith(`lesson-${wanted}`),
  );
  if (!query || !lesson) {
    console.error(
      query ? `No lesson matches "${query}".` : "Name a lesson, for example lesson-01.",
    );
    console.error("Lessons:\n" + lessons.map((l) => `  ${l.name}  ${l.title}`).join("\n"));
    process.exit(2);
  }
  return lesson;
}
