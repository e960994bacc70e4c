import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/** Commander's accumulator for repeatable flags. No default array: commander would print "(default: [])". */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The flags that reach a registry the same way in every command: credentials, CAs, insecure hosts. */
export function addRegistryAccessOptions(cmd: Command, which: string): Command {
  return cmd
    .option('--creds <registry=user:password>', `credentials for ${which} (repeatable; else the docker config is used)`, collect)
    .option('--ca-file <file>', `a CA certificate (PEM) to trust for ${which} (repeatable)`, collect)
    .option('--insecure-registry <host>', `allow plain http or unverified TLS for this registry host[:port] (repeatable)`, collect);
}

/** --concurrency: unset gives the command's default; else a whole number from 1 to 64. */
export function parseConcurrency(v: string | undefined, defaultValue: number, hint: string): number {
  if (v === undefined) return defaultValue;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError('ERR_INVALID_CONCURRENCY', `invalid --concurrency "${v}": expected a whole number from 1 to 64`, { hint });
  }
  return n;
}
