/** Terminal colours, only when the terminal shows them and NO_COLOR is not set. */
const enabled =
  process.stdout.isTTY === true && !process.env.NO_COLOR && process.stdout.hasColors?.() !== false;

const wrap =
  (open: number, close: number) =>
  (text: string): string =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;

export const bold = wrap(1, 22);
export const dim = wrap(2, 22);
export const red = wrap(31, 39);
export const green = wrap(32, 39);
export const yellow = wrap(33, 39);
export const cyan = wrap(36, 39);

/**
 * A spinner with `label` and a live `detail` on a terminal; elsewhere (a CI log, a pipe) the label
 * once, so a long step still shows that it started. Returns a function that clears the spinner.
 */
export function spinner(label: string, detail: () => string = () => ""): () => void {
  if (!process.stdout.isTTY) {
    console.log(`${label}…`);
    return () => {};
  }
  const text = (): string => `${label}… ${detail()}`;
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let frame = 0;
  const draw = (): void => {
    process.stdout.write(`\r\u001b[2K${cyan(frames[frame++ % frames.length] as string)} ${text()}`);
  };
  draw();
  const timer = setInterval(draw, 80);
  return () => {
    clearInterval(timer);
    process.stdout.write("\r\u001b[2K");
  };
}

/** `███████░░░░░░░ 50%` */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 0 : done / total;
  const full = Math.round(ratio * width);
  return `${green("█".repeat(full))}${dim("░".repeat(width - full))} ${Math.round(ratio * 100)}%`;
}
