#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { registerCommands } from './commands/index.js';
import { createProgram } from './program.js';
import { printError } from './report-error.js';

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  const json = argv.includes('--json') || argv.includes('--output=json') || argv.join(' ').includes('--output json');
  try {
    await registerCommands(program, argv);
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
// `airgap images | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
main(process.argv).then((code) => {
  process.exitCode = code;
});
