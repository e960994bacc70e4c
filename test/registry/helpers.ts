import { Readable } from 'node:stream';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import type { RegistryEvent } from '../../src/registry/events.js';

/** A client with fast retries and an event log. */
export function testClient(opts: RegistryClientOptions = {}): { client: RegistryClient; events: RegistryEvent[] } {
  const events: RegistryEvent[] = [];
  const client = new RegistryClient({
    retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20, ...opts.retry },
    dockerConfig: '/nonexistent/config.json',
    ...opts,
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e);
    },
  });
  return { client, events };
}

export async function readStream(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Everything a user could see of a failure: message, hint, details, JSON form. */
export function visible(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const a = e as Error & { hint?: string; details?: unknown; toJSON?: () => unknown };
  return [a.message, a.hint ?? '', JSON.stringify(a.details ?? {}), a.toJSON ? JSON.stringify(a.toJSON()) : '', String(a.stack ?? '')].join('\n');
}

export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}
