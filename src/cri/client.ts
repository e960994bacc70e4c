/**
 * The kubelet-facing CRI API (k8s.io/cri-api, runtime.v1) on a runtime's socket: what kubelet and
 * crictl see. Field numbers are those of cri-api's api.proto; runtime.v1alpha2 (containerd < 1.7
 * built without v1) has the same messages, so a runtime that answers UNIMPLEMENTED for v1 is asked
 * again under v1alpha2 and remembered.
 */
import { CriCallError, GrpcStatus, ProtobufError } from './errors.js';
import { unaryCall, socketPathOf } from './grpc.js';
import { decodeMessage, encodeMessage, type ProtoFields, type ProtoMessage } from './protobuf.js';

export type CriApiVersion = 'v1' | 'v1alpha2';

export interface CriVersion {
  /** The CRI API version the runtime speaks ("0.1.0" for containerd). */
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface CriCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface CriStatus {
  conditions: CriCondition[];
  /** Verbose info; values that are JSON (containerd's "config", "cniconfig", …) decoded. */
  info: Record<string, unknown>;
}

export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  pinned: boolean;
}

/** Registry credentials for one pull (sent to the runtime; never logged or put in errors). */
export interface CriAuth {
  username?: string;
  password?: string;
  /** base64 "user:password", as in a docker config.json */
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface CriClientOptions {
  /** Deadline per call (default 30 s). */
  timeoutMs?: number;
  /** Deadline for PullImage, which downloads the image (default 10 min). */
  pullTimeoutMs?: number;
  /** Pin the API version instead of trying v1 first. */
  api?: CriApiVersion;
}

export interface PullImageOptions {
  auth?: CriAuth;
  timeoutMs?: number;
}

const imageSpec = (ref: string): ProtoFields => [[1, ref]];

function toImage(m: ProtoMessage): CriImage {
  return { id: m.string(1), repoTags: m.strings(2), repoDigests: m.strings(3), size: m.uint(4), pinned: m.bool(8) };
}

function decodeInfo(m: ProtoMessage, field: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of m.stringMap(field)) {
    try {
      out[k] = JSON.parse(v) as unknown;
    } catch {
      out[k] = v; // the API says JSON, but runtimes put plain strings in too
    }
  }
  return out;
}

export class CriClient {
  /** The socket path (a unix:// address is accepted too). */
  readonly socket: string;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;
  private apiVersion: CriApiVersion | undefined;

  constructor(address: string, opts: CriClientOptions = {}) {
    this.socket = socketPathOf(address);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 600_000;
    this.apiVersion = opts.api;
  }

  /** The API version that answered last (undefined before the first call). */
  get api(): CriApiVersion | undefined {
    return this.apiVersion;
  }

  private async call<T>(service: 'RuntimeService' | 'ImageService', method: string, request: ProtoFields, decode: (m: ProtoMessage) => T, timeoutMs = this.timeoutMs): Promise<T> {
    const body = encodeMessage(request);
    const versions: CriApiVersion[] = this.apiVersion ? [this.apiVersion] : ['v1', 'v1alpha2'];
    for (const [i, api] of versions.entries()) {
      const path = `/runtime.${api}.${service}/${method}`;
      let answer: Buffer;
      try {
        answer = await unaryCall(this.socket, path, body, { timeoutMs });
      } catch (e) {
        if (e instanceof CriCallError && e.grpcStatus === GrpcStatus.UNIMPLEMENTED && i < versions.length - 1) continue;
        throw e;
      }
      this.apiVersion = api;
      try {
        return decode(decodeMessage(answer));
      } catch (e) {
        if (e instanceof ProtobufError) throw new CriCallError(path, this.socket, GrpcStatus.INTERNAL, e.message, { cause: e });
        throw e;
      }
    }
    throw new Error('unreachable: no CRI API version to try');
  }

  /** RuntimeService.Version */
  version(): Promise<CriVersion> {
    return this.call('RuntimeService', 'Version', [[1, 'v1']], (m) => ({
      version: m.string(1),
      runtimeName: m.string(2),
      runtimeVersion: m.string(3),
      runtimeApiVersion: m.string(4),
    }));
  }

  /** RuntimeService.Status (`crictl info`); with verbose, containerd's info.config is the configuration it runs with. */
  status(opts: { verbose?: boolean } = {}): Promise<CriStatus> {
    return this.call('RuntimeService', 'Status', [[1, opts.verbose ?? false]], (m) => ({
      conditions: (m.message(1)?.messages(1) ?? []).map((c) => ({ type: c.string(1), status: c.bool(2), reason: c.string(3), message: c.string(4) })),
      info: decodeInfo(m, 2),
    }));
  }

  /** ImageService.PullImage as kubelet sends it (the name from the pod spec); resolves with the image ref (id). */
  pullImage(ref: string, opts: PullImageOptions = {}): Promise<string> {
    const a = opts.auth;
    const auth: ProtoFields | undefined = a && [
      [1, a.username],
      [2, a.password],
      [3, a.auth],
      [4, a.serverAddress],
      [5, a.identityToken],
      [6, a.registryToken],
    ];
    // An empty PodSandboxConfig (field 3) is what crictl sends outside a pod.
    return this.call('ImageService', 'PullImage', [[1, imageSpec(ref)], [2, auth], [3, []]], (m) => m.string(1), opts.timeoutMs ?? this.pullTimeoutMs);
  }

  /** ImageService.ListImages, unfiltered. */
  listImages(): Promise<CriImage[]> {
    return this.call('ImageService', 'ListImages', [], (m) => m.messages(1).map(toImage));
  }

  /** ImageService.ImageStatus; undefined when the runtime does not have the image. */
  imageStatus(ref: string): Promise<CriImage | undefined> {
    return this.call('ImageService', 'ImageStatus', [[1, imageSpec(ref)]], (m) => {
      const img = m.message(1);
      return img ? toImage(img) : undefined;
    });
  }

  /** ImageService.RemoveImage; removing an image the runtime does not have is not an error. */
  async removeImage(ref: string): Promise<void> {
    await this.call('ImageService', 'RemoveImage', [[1, imageSpec(ref)]], () => undefined);
  }
}
