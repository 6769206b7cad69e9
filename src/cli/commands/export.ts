/**
 * `koclip export`: writes an index or model in another format. Dispatches on the format, given
 * as a word (`koclip export parquet --db FILE`) or as `--format` after the source
 * (`koclip export FILE --format parquet`).
 */
import { UsageError, type Command } from "../command.js";
import { EXPORT_PARQUET_USAGE, runExportParquet } from "./export_parquet.js";

const FORMATS: Record<string, (argv: string[], source?: string) => Promise<number>> = {
  parquet: runExportParquet,
};

export const exportCommand: Command = {
  name: "export",
  summary: "write an index in another format (parquet, for vector databases)",
  usage: EXPORT_PARQUET_USAGE,
  async run(argv: string[]): Promise<number> {
    const [first, ...rest] = argv;
    if (first !== undefined && FORMATS[first]) return FORMATS[first](rest);
    const at = argv.indexOf("--format");
    const format = at >= 0 ? argv[at + 1] : undefined;
    const run = format === undefined ? undefined : FORMATS[format];
    if (!run) throw new UsageError(`give a format: koclip export ${Object.keys(FORMATS).join("|")} ... or koclip export SOURCE --format ${Object.keys(FORMATS).join("|")}`);
    if (first === undefined || first.startsWith("--")) throw new UsageError("give the source before --format");
    return run(rest, first);
  },
};
