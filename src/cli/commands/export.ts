/**
 * `koclip export WHAT`: dispatches on its first word to one exporter per format. The issue's
 * spelling `koclip export SOURCE --format WHAT ...` is the same call with the source first.
 */
import { UsageError, type Command } from "../command.js";
import { exportParquetCommand } from "./export_parquet.js";

const EXPORTERS: Command[] = [exportParquetCommand];

export const exportCommand: Command = {
  name: "export",
  summary: `write a model or an index in another format (${EXPORTERS.map((e) => e.name).join(", ")})`,
  usage: `usage: koclip export (${EXPORTERS.map((e) => e.name).join(" | ")}) [options]\n\n${EXPORTERS.map((e) => e.usage).join("\n\n")}`,
  async run(argv: string[]): Promise<number> {
    const at = argv.indexOf("--format");
    const [what, ...rest] = at >= 0 ? [argv[at + 1], ...argv.filter((_, i) => i !== at && i !== at + 1)] : argv;
    const exporter = EXPORTERS.find((e) => e.name === what);
    if (!exporter) throw new UsageError(what === undefined ? "say what to export" : `unknown export '${what}' (known: ${EXPORTERS.map((e) => e.name).join(", ")})`);
    return exporter.run(rest);
  },
};
