/** One `koclip` sub-command: parses its own flags, calls one library function, prints. */
export interface Command {
  /** The word after `koclip`, e.g. `embed`. */
  readonly name: string;
  /** One line for `koclip --help`. */
  readonly summary: string;
  /** Full help text printed by `koclip NAME --help`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line input; main prints the message and the command's usage, exits 2. */
export class UsageError extends Error {}
