/** `koclip export WHAT`: dispatches on its first word to one exporter per format. */
import { UsageError, type Command } from "../command.js";
import { exportOnnxCommand } from "./export_onnx.js";
import { exportSiteCommand } from "./export_site.js";

const EXPORTERS: Command[] = [exportOnnxCommand, exportSiteCommand];

export const exportCommand: Command = {
  name: "export",
  summary: `write a model or an index in another format (${EXPORTERS.map((e) => e.name).join(", ")})`,
  usage: `usage: koclip export (${EXPORTERS.map((e) => e.name).join(" | ")}) [options]\n\n${EXPORTERS.map((e) => e.usage).join("\n\n")}`,
  async run(argv: string[]): Promise<number> {
    const [what, ...rest] = argv;
    const exporter = EXPORTERS.find((e) => e.name === what);
    if (!exporter) throw new UsageError(what === undefined ? "say what to export" : `unknown export '${what}' (known: ${EXPORTERS.map((e) => e.name).join(", ")})`);
    return exporter.run(rest);
  },
};
