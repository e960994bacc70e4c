import type { Readable } from 'node:stream';
import { H1Agent, type H1AgentOptions } from '../../../src/registry/h1/agent.js';
import type { H1Response } from '../../../src/registry/h1/connection.js';

/** An agent with generous timeouts unless a test is about them. */
export function testAgent(opts: Partial<H1AgentOptions> = {}): H1Agent {
  return new H1Agent({
    connectMs: 2000,
    headersMs: 2000,
    bodyIdleMs: 2000,
    connections: 4,
    keepAliveMs: 30_000,
    tls: () => ({ rejectUnauthorized: true }),
    ...opts,
  });
}

export function get(agent: H1Agent, url: string, opts: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<H1Response> {
  return agent.request({ method: opts.method ?? 'GET', url: new URL(url), headers: opts.headers ?? {}, signal: opts.signal });
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** GET and read the whole body as text. */
export async function fetchText(agent: H1Agent, url: string, opts: Parameters<typeof get>[2] = {}): Promise<{ status: number; text: string }> {
  const res = await get(agent, url, opts);
  return { status: res.status, text: (await readAll(res.body)).toString() };
}

export type CodedError = Error & { code?: string };

export const withCode = (code: string, re?: RegExp) => (e: CodedError): boolean => e.code === code && (re === undefined || re.test(e.message));
