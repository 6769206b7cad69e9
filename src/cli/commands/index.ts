/** Every sub-command, in the order `koclip --help` lists them. */
import type { Command } from "../command.js";

export const COMMANDS: Command[] = [];
