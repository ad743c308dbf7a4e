/** The few command-line shapes the course scripts take: `<lesson> [file] [--flag] [--name value]`. */
export interface Args {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

export interface ArgSpec {
  /** How the command is called, shown when the arguments are wrong. */
  usage: string;
  /** Flags without a value: `--solution`. */
  flags?: string[];
  /** Options that take a value: `--port 6390` or `--port=6390`. */
  values?: string[];
}

/**
 * Parses the arguments after `npm run <script> --`. An unknown option stops the command with its
 * usage line: a typo such as `--soluton` must not quietly run something else.
 */
export function parseArgs(argv: string[], spec: ArgSpec): Args {
  const args: Args = { positional: [], flags: new Set(), values: new Map() };
  const fail = (problem: string): never => {
    console.error(`${problem}\nUsage: ${spec.usage}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--help" || arg === "-h") {
      console.log(`Usage: ${spec.usage}`);
      process.exit(0);
    }
    if (/^-[^-]/.test(arg)) fail(`Unknown option: ${arg} (options are spelled out: --name)`);
    if (!arg.startsWith("--")) {
      args.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (spec.flags?.includes(name) && inline === undefined) {
      args.flags.add(name);
    } else if (spec.values?.includes(name)) {
      const value = inline ?? argv[++i];
      if (!value || value.startsWith("--")) fail(`--${name} needs a value.`);
      args.values.set(name, value as string);
    } else {
      fail(`Unknown option: ${arg}`);
    }
  }
  return args;
}
