import { loadRigConfig } from '../../config/load.js';
import { parseCommandArgs, usageError, type Command } from '../command.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a rig config against the schema and print it with defaults filled in',
  help: `Usage: optoloop validate <config> [--quiet]

Reads a rig config (YAML or JSON, following "extends:" chains), validates it against the schema
(config/schema.json) and prints the complete config with every default filled in. Unknown keys,
wrong types and out-of-range values are reported with their path, e.g.
  pipeline.detect.thresholdUv: expected a negative number, got 50

Options:
  --quiet     Print nothing when the config is valid.
  -h, --help  Show this help.

Exit status: 0 valid, 1 invalid or unreadable, 2 wrong usage.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('validate', { args: [...argv], options: { quiet: { type: 'boolean' } }, allowPositionals: true });
    if (positionals.length !== 1) throw usageError('validate', `expected one config file, got ${positionals.length}`);
    const config = loadRigConfig(positionals[0]);
    if (!values.quiet) io.out(`${JSON.stringify(config, null, 2)}\n${positionals[0]}: valid\n`);
    return 0;
  },
};
