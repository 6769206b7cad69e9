#!/usr/bin/env node
/** The `koclip` command line: dispatches to one file per sub-command in ./commands. */
import { COMMANDS } from "./commands/registry.js";
import { UsageError } from "./command.js";

function printHelp(): void {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  console.log("usage: koclip <command> [options]\n\ncommands:");
  for (const c of COMMANDS) console.log(`  ${c.name.padEnd(width)}  ${c.summary}`);
  console.log("\n`koclip <command> --help` shows a command's options.");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printHelp();
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`koclip: unknown command '${name}' (known: ${COMMANDS.map((c) => c.name).join(", ")})`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`koclip ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`koclip ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/**
 * A reader that went away (`koclip search ... | head -1`) ends the command at once and quietly,
 * with the status a shell reports for a tool killed by SIGPIPE (128 + 13); node ignores SIGPIPE,
 * so the write fails with EPIPE instead, which would otherwise surface as an unhandled 'error'.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(141);
    throw err;
  });
}

exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
process.exitCode = await main(process.argv.slice(2));
