#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { registerCommands } from './commands/index.js';
import { createProgram } from './program.js';
import { printError } from './report-error.js';

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  registerCommands(program);
  const json = argv.includes('--json') || argv.includes('--output=json');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exitCode 0; everything else commander refuses is a usage error.
      if (e.exitCode === 0) return ExitCode.Ok;
      return ExitCode.Usage;
    }
    return printError(e, json);
  }
}

process.on('SIGINT', () => process.exit(ExitCode.Interrupted));
main(process.argv).then((code) => {
  process.exitCode = code;
});
