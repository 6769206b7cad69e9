/** Every sub-command, in the order `koclip --help` lists them. */
import type { Command } from "../command.js";
import { dataCommand } from "./data.js";

export const COMMANDS: Command[] = [dataCommand];
