/**
 * What an unwritten exercise function does: it throws, naming the lesson, the function and the
 * part of the lesson README to read. Every stub in exercises/ ends in `return todo(...)`.
 */
export class NotImplementedError extends Error {
  readonly code = "COURSE_NOT_IMPLEMENTED";
  readonly lesson: string;
  readonly fn: string;
  readonly step: string;

  constructor(lesson: string, fn: string, step: string) {
    super(`${lesson}: ${fn} is not written yet. Read ${step} in lessons/${lesson}/README.md.`);
    this.name = "NotImplementedError";
    this.lesson = lesson;
    this.fn = fn;
    this.step = step;
  }
}

export function todo(lesson: string, fn: string, step: string): never {
  const error = new NotImplementedError(lesson, fn, step);
  // Start the stack at the stub that called todo(), so a test failure points at the learner's file.
  Error.captureStackTrace(error, todo);
  throw error;
}
