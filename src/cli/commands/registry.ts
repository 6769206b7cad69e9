/** Every sub-command, in the order `koclip --help` lists them. */
import type { Command } from "../command.js";
import { dataCommand } from "./data.js";
import { classifyCommand } from "./classify.js";
import { compareCommand } from "./compare.js";
import { embedCommand } from "./embed.js";
import { evalCommand } from "./eval.js";
import { exportCommand } from "./export.js";
import { indexCommand } from "./index_folder.js";
import { searchCommand } from "./search.js";
import { serveCommand } from "./serve.js";
import { tokenizerCommand } from "./tokenizer.js";
import { trainCommand } from "./train.js";

export const COMMANDS: Command[] = [
  indexCommand, searchCommand, classifyCommand, serveCommand, embedCommand,
  trainCommand, evalCommand, compareCommand, exportCommand, tokenizerCommand, dataCommand,
];
