import { Agent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** the body as JSON (spec error bodies, tags, catalog) */
  json<T = unknown>(): T;
}

/**
 * A bare HTTP client for asserting exactly what the server says: no default Accept header (fetch
 * adds one), no decompression, HEAD and odd methods as they are.
 */
export function call(url: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer; agent?: Agent; ca?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: opts.method ?? 'GET',
      headers: opts.headers ?? {},
      ...(opts.agent ? { agent: opts.agent } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
      });
    });
    req.on('error', reject);
    // A response that never ends must fail the test, not hang it.
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    req.end(opts.body);
  });
}

export interface SpecErrors {
  errors: { code: string; message: string; detail?: unknown }[];
}

/** The first spec error code of an answer. */
export function errorCode(a: Answer): string | undefined {
  return a.json<SpecErrors>().errors[0]?.code;
}
