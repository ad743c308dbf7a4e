/** The few command-line shapes the course scripts take: `<lesson> [--flag] [--name value]`. */
export interface Args {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

export function parseArgs(argv: string[], withValue: string[] = []): Args {
  const args: Args = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) {
      args.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (!withValue.includes(name)) {
      args.flags.add(name);
    } else if (inline !== undefined) {
      args.values.set(name, inline);
    } else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      args.values.set(name, value);
    }
  }
  return args;
}
