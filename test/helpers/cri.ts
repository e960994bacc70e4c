/**
 * A minimal CRI (runtime.v1) client for tests: talks to containerd's CRI plugin over its unix
 * socket exactly as kubelet does (ImageService.PullImage with the image's original name), so a
 * test can prove what a node would get. The proto (cri-api.proto) is our own minimal subset with
 * the upstream field numbers.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  pinned: boolean;
}

export interface CriCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface CriStatus {
  conditions: CriCondition[];
  /** Verbose info, JSON-decoded where the value is JSON (containerd: "config", "cniconfig", …). */
  info: Record<string, unknown>;
}

export interface CriVersion {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface CriClient {
  version(): Promise<CriVersion>;
  /** PullImage as kubelet sends it: the name as written in the pod spec; returns the image ref (id). */
  pullImage(image: string, opts?: { timeoutMs?: number }): Promise<string>;
  /** null when the runtime does not have the image. */
  imageStatus(image: string): Promise<CriImage | null>;
  listImages(): Promise<CriImage[]>;
  removeImage(image: string): Promise<void>;
  status(verbose?: boolean): Promise<CriStatus>;
  close(): void;
}

/** A gRPC status error from the runtime, with its code and details kept. */
export class CriCallError extends Error {
  readonly code: number;
  readonly details: string;
  constructor(method: string, err: grpc.ServiceError) {
    super(`CRI ${method} failed: ${grpc.status[err.code] ?? err.code}: ${err.details}`, { cause: err });
    this.name = 'CriCallError';
    this.code = err.code;
    this.details = err.details;
  }
}

function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/test/helpers/; the .proto stays in test/helpers/ of the source tree.
  const candidates = [join(here, 'cri-api.proto'), resolve(here, '../../../test/helpers/cri-api.proto')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`cri-api.proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Method = (req: unknown, opts: grpc.CallOptions, cb: Callback) => void;
type RawClient = grpc.Client & Record<string, Method>;

interface RawImage {
  id?: string;
  repoTags?: string[];
  repoDigests?: string[];
  size?: string | number;
  pinned?: boolean;
}

function toImage(raw: RawImage): CriImage {
  return {
    id: raw.id ?? '',
    repoTags: raw.repoTags ?? [],
    repoDigests: raw.repoDigests ?? [],
    size: Number(raw.size ?? 0),
    pinned: raw.pinned ?? false,
  };
}

function decodeInfo(info: Record<string, string> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info ?? {})) {
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** Connect to a CRI runtime on a unix socket (absolute path). */
export function connectCri(socketPath: string): CriClient {
  if (!socketPath.startsWith('/')) throw new Error(`CRI socket path must be absolute: ${socketPath}`);
  const def = protoLoader.loadSync(protoPath(), { keepCase: false, longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } };
  };
  const address = `unix://${socketPath}`;
  const creds = grpc.credentials.createInsecure();
  const runtime = new pkg.runtime.v1.RuntimeService(address, creds) as unknown as RawClient;
  const images = new pkg.runtime.v1.ImageService(address, creds) as unknown as RawClient;

  function call<T>(client: RawClient, method: string, req: unknown, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolvePromise, reject) => {
      const fn = client[method];
      if (typeof fn !== 'function') {
        reject(new Error(`no CRI method ${method}`));
        return;
      }
      fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new CriCallError(method, err));
        else resolvePromise(res as T);
      });
    });
  }

  return {
    async version() {
      const r = await call<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>(
        runtime,
        'Version',
        { version: 'v1' },
      );
      return { version: r.version, runtimeName: r.runtimeName, runtimeVersion: r.runtimeVersion, runtimeApiVersion: r.runtimeApiVersion };
    },
    async pullImage(image, opts = {}) {
      const r = await call<{ imageRef: string }>(
        images,
        'PullImage',
        { image: { image }, sandboxConfig: {} },
        opts.timeoutMs ?? 60_000,
      );
      return r.imageRef;
    },
    async imageStatus(image) {
      const r = await call<{ image?: RawImage | null }>(images, 'ImageStatus', { image: { image }, verbose: false });
      return r.image ? toImage(r.image) : null;
    },
    async listImages() {
      const r = await call<{ images?: RawImage[] }>(images, 'ListImages', {});
      return (r.images ?? []).map(toImage);
    },
    async removeImage(image) {
      await call(images, 'RemoveImage', { image: { image } });
    },
    async status(verbose = true) {
      const r = await call<{ status?: { conditions?: CriCondition[] }; info?: Record<string, string> }>(
        runtime,
        'Status',
        { verbose },
      );
      return { conditions: r.status?.conditions ?? [], info: decodeInfo(r.info) };
    },
    close() {
      runtime.close();
      images.close();
    },
  };
}
