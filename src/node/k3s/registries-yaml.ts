/**
 * k3s's and RKE2's registries.yaml (/etc/rancher/{k3s,rke2}/registries.yaml): `mirrors:` maps a
 * registry to its `endpoint:` list (and optional `rewrite:`), `configs:` maps a host to `auth:` and
 * `tls:`. At every start k3s turns it into hosts.toml files for its containerd. We merge one
 * explicit entry per bundle registry into the user's file — their other entries, comments and
 * order kept — and never add the `"*"` wildcard (under containerd 2.0 it broke the fallback to
 * the real registry: k3s v1.31.6/v1.32.2, k3s-io/k3s#11857).
 */
import { isMap, isScalar, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { NodeConfigError } from '../errors.js';

export const REGISTRIES_MARKER = '# Registry mirrors: airgap load added one entry per registry of its bundle, pointing at the node registry.';

export interface MirrorEntry {
  /** The source registry, e.g. registry.k8s.io */
  registry: string;
  /** The node registry's URL for it, with the path load pushed under: http://127.0.0.1:5000/v2/registry.k8s.io */
  endpoint: string;
}

export interface MirrorTls {
  /** host[:port] of the node registry, as k3s keys `configs:` */
  host: string;
  caFile?: string;
  skipVerify?: boolean;
}

export interface RegistriesMerge {
  text: string;
  /** Registries whose entry was added or changed. */
  changed: string[];
  warnings: string[];
  errors: NodeConfigError[];
}

export interface RegistriesFacts {
  exists: boolean;
  error?: string;
  /** registry -> its endpoints, as written */
  mirrors: Map<string, { endpoints: string[]; rewrites: number }>;
  /** host -> whether `tls:` / `auth:` is set */
  configs: Map<string, { ca?: string; skipVerify?: boolean; auth: boolean }>;
  wildcard: boolean;
}

function quoted(value: string): Scalar {
  const s = new Scalar(value);
  s.type = Scalar.QUOTE_DOUBLE;
  return s;
}

function syntaxError(file: string, why: string): NodeConfigError {
  return new NodeConfigError('ERR_NODE_CONFIG_SYNTAX', `${file} cannot be read as registries.yaml: ${why}`, {
    hint: `fix ${file} (it must be YAML with a top-level mapping: mirrors:, configs:), then run again; k3s itself cannot start with it either`,
    details: { file },
  });
}

function load(text: string | null, file: string): Document {
  const doc = parseDocument(text ?? '', { keepSourceTokens: false });
  if (doc.errors.length > 0) throw syntaxError(file, doc.errors[0]!.message.split('\n')[0]!);
  if (doc.contents !== null && !isMap(doc.contents)) throw syntaxError(file, 'the top level is not a mapping');
  for (const key of ['mirrors', 'configs']) {
    const v = doc.get(key, true);
    if (v !== undefined && v !== null && !(isScalar(v) && v.value === null) && !isMap(v)) throw syntaxError(file, `"${key}" is not a mapping`);
  }
  return doc;
}

function strings(node: unknown): string[] {
  if (isSeq(node)) return node.items.map((i) => (isScalar(i) ? String(i.value) : '')).filter((s) => s !== '');
  if (isScalar(node) && typeof node.value === 'string') return [node.value];
  return [];
}

/** What a registries.yaml says (null text: no file). Throws ERR_NODE_CONFIG_SYNTAX when it does not parse. */
export function readRegistries(text: string | null, file: string): RegistriesFacts {
  const out: RegistriesFacts = { exists: text !== null, mirrors: new Map(), configs: new Map(), wildcard: false };
  const doc = load(text, file);
  const mirrors = doc.get('mirrors', true);
  if (isMap(mirrors)) {
    for (const pair of mirrors.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const value = pair.value;
      const endpoints = isMap(value) ? strings(value.get('endpoint', true)) : [];
      const rewrite = isMap(value) ? value.get('rewrite', true) : undefined;
      out.mirrors.set(key, { endpoints, rewrites: isMap(rewrite) ? rewrite.items.length : 0 });
      if (key === '*') out.wildcard = true;
    }
  }
  const configs = doc.get('configs', true);
  if (isMap(configs)) {
    for (const pair of configs.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const value = pair.value;
      const tls = isMap(value) ? value.get('tls', true) : undefined;
      const ca = isMap(tls) ? tls.get('ca_file') : undefined;
      const skip = isMap(tls) ? tls.get('insecure_skip_verify') : undefined;
      out.configs.set(key, {
        ...(typeof ca === 'string' ? { ca } : {}),
        ...(typeof skip === 'boolean' ? { skipVerify: skip } : {}),
        auth: isMap(value) && value.has('auth'),
      });
    }
  }
  return out;
}

function mapAt(doc: Document, key: string): YAMLMap {
  const existing = doc.get(key, true);
  if (isMap(existing)) return existing;
  const m = new YAMLMap();
  doc.set(key, m);
  return m;
}

function entryOf(map: YAMLMap, key: string): YAMLMap | undefined {
  const v = map.get(key, true);
  return isMap(v) ? v : undefined;
}

/**
 * Merge our mirror entries (and the node registry's TLS settings) into registries.yaml. Each bundle
 * registry gets our endpoint first; endpoints the user already had stay after it (warned: pulls fall
 * back to them). A `rewrite:` on such a registry would also rewrite our paths: that is an error.
 */
export function mergeRegistries(before: string | null, file: string, entries: readonly MirrorEntry[], tls?: MirrorTls): RegistriesMerge {
  const doc = load(before, file);
  const out: RegistriesMerge = { text: '', changed: [], warnings: [], errors: [] };
  if (doc.contents === null) {
    doc.contents = new YAMLMap() as never;
    doc.commentBefore = ` ${REGISTRIES_MARKER.slice(2)}\n k3s and RKE2 read this file at start and write containerd's hosts.toml files from it.` + (doc.commentBefore ? `\n${doc.commentBefore}` : '');
  }
  const mirrors = mapAt(doc, 'mirrors');
  for (const e of entries) {
    let entry = entryOf(mirrors, e.registry);
    if (!entry) {
      entry = new YAMLMap();
      mirrors.set(quoted(e.registry), entry);
    }
    const rewrite = entry.get('rewrite', true);
    if (isMap(rewrite) && rewrite.items.length > 0) {
      out.errors.push(new NodeConfigError('ERR_NODE_CONFIG_LAYOUT', `${file}: mirrors."${e.registry}" has a rewrite, which k3s applies to every endpoint of it, the node registry's too`, {
        hint: `remove the rewrite of ${e.registry} from ${file} (or move it to another registry entry), then run again`,
        details: { file, registry: e.registry },
      }));
      continue;
    }
    const current = strings(entry.get('endpoint', true));
    if (current[0] === e.endpoint) continue;
    const others = current.filter((x) => x !== e.endpoint);
    if (others.length > 0) {
      out.warnings.push(`${file}: ${e.registry} also lists ${others.join(', ')}; they stay after the node registry, so pulls the node registry cannot serve go there`);
    }
    const seq = new YAMLSeq();
    for (const x of [e.endpoint, ...others]) seq.add(quoted(x));
    entry.set('endpoint', seq);
    out.changed.push(e.registry);
  }
  if (tls && (tls.caFile !== undefined || tls.skipVerify === true)) {
    const configs = mapAt(doc, 'configs');
    let entry = entryOf(configs, tls.host);
    if (!entry) {
      entry = new YAMLMap();
      configs.set(quoted(tls.host), entry);
    }
    const existing: unknown = entry.get('tls', true);
    let tm: YAMLMap;
    if (isMap(existing)) tm = existing;
    else {
      tm = new YAMLMap();
      entry.set('tls', tm);
    }
    if (tls.caFile !== undefined && tm.get('ca_file') !== tls.caFile) {
      tm.set('ca_file', quoted(tls.caFile));
      out.changed.push(`${tls.host} (ca_file)`);
    }
    if (tls.skipVerify === true && tm.get('insecure_skip_verify') !== true) {
      tm.set('insecure_skip_verify', true);
      out.changed.push(`${tls.host} (insecure_skip_verify)`);
    }
  }
  out.text = out.changed.length === 0 && before !== null ? before : doc.toString({ lineWidth: 0 });
  return out;
}
