import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every command, in the order --help lists them. Loaded on demand: a command's module pulls in
 * what it runs (undici, execa, the bundle writer: hundreds of files, ~0.5 s of a 2-core machine's
 * startup), and `airgap verify` should not pay for pack's and load's.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<{ register: Register }>]> = [
  ['images', () => import('./images.js')],
  ['pack', () => import('./pack.js')],
  ['verify', () => import('./verify.js')],
  ['inspect', () => import('./inspect.js')],
  ['load', () => import('./load.js')],
  ['serve', () => import('./serve.js')],
  ['doctor', () => import('./doctor.js')],
];

/**
 * Register the command the command line names (the first argument that is not an option), or
 * every command when it names none of them (--help, `help pack`, a typo commander should answer).
 */
export async function registerCommands(program: Command, argv: readonly string[] = []): Promise<void> {
  const args = argv.slice(2);
  const name = args.find((a) => !a.startsWith('-'));
  // `airgap --version` needs no command at all.
  if (name === undefined && args.length > 0 && args.every((a) => a === '--version' || a === '-V')) return;
  const chosen = COMMANDS.filter(([n]) => n === name);
  const modules = await Promise.all((chosen.length ? chosen : COMMANDS).map(([, load]) => load()));
  for (const m of modules) m.register(program);
}
