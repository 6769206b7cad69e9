/** Every sub-command, in the order `koclip --help` lists them. */
import type { Command } from "../command.js";
import { dataCommand } from "./data.js";
import { compareCommand } from "./compare.js";
import { embedCommand } from "./embed.js";
import { evalCommand } from "./eval.js";
import { tokenizerCommand } from "./tokenizer.js";
import { trainCommand } from "./train.js";

export const COMMANDS: Command[] = [embedCommand, trainCommand, evalCommand, compareCommand, tokenizerCommand, dataCommand];
