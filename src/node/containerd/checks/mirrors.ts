import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { check, type CheckResult } from '../../check.js';
import type { NodeCheckContext as DoctorContext } from '../../check-context.js';
import { registryHosts, type HostEntry, type RegistryHosts } from '../hosts-file.js';
import { dispatcherFor, manifestUrl, probeManifest, type ProbeResult } from '../mirror-probe.js';

async function dirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

/** What one mirror host serves of a registry's bundle images (by tag, compared by digest). */
export interface HostVerdict {
  host: HostEntry;
  served: number;
  missing: { image: string; why: string }[];
  down?: string;
}

/** Ask one mirror host for every bundle image of `registry`, as the runtime would. Shared by containerd's and CRI-O's checks. */
export async function probeHost(ctx: Pick<DoctorContext, 'opts' | 'bundle'>, registry: string, host: HostEntry): Promise<HostVerdict> {
  const timeout = ctx.opts.timeoutMs ?? 5000;
  const dispatcher = await dispatcherFor(host, timeout);
  const images = ctx.bundle!.images.filter((i) => i.ref.registry === registry);
  const verdict: HostVerdict = { host, served: 0, missing: [] };
  const limit = pLimit(4);
  try {
    const results = await Promise.all(images.map((img) => limit(async (): Promise<[typeof img, ProbeResult]> => {
      const reference = img.ref.tag ?? img.ref.digest ?? 'latest';
      return [img, await probeManifest(dispatcher, manifestUrl(host, registry, img.ref.repository, reference))];
    })));
    for (const [img, r] of results) {
      const accepted: string[] = [img.descriptor.digest, img.reduced?.descriptor.digest ?? ''];
      if (r.error !== undefined) {
        verdict.down ??= r.error;
        verdict.missing.push({ image: img.name, why: r.error });
      } else if (r.status !== 200) verdict.missing.push({ image: img.name, why: `HTTP ${r.status}` });
      else if (r.digest !== undefined && !accepted.includes(r.digest)) verdict.missing.push({ image: img.name, why: `serves ${r.digest}, the bundle has ${img.descriptor.digest}` });
      else verdict.served++;
    }
    if (verdict.down !== undefined && verdict.served > 0) delete verdict.down;
  } finally {
    await dispatcher.close();
  }
  return verdict;
}

function registryCheck(ctx: DoctorContext, rh: RegistryHosts, verdicts: HostVerdict[]): CheckResult {
  const registry = rh.registry;
  const id = `mirrors.${registry}`;
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const configure = ctx.nodeKind?.mirrorFix?.(registry, bundle) ?? `airgap load ${bundle} --configure-containerd --mirror URL (or --registry URL) writes ${join(ctx.hostsDir, registry, 'hosts.toml')}`;
  const count = ctx.bundle!.images.filter((i) => i.ref.registry === registry).length;
  if (rh.dir === undefined) {
    return check('mirrors', id, 'fail', `no hosts.toml for ${registry} in ${ctx.hostsDir}: pulls of its ${count} bundle image(s) go to ${registry} itself (the internet)`, configure);
  }
  const file = join(rh.dir, 'hosts.toml');
  if (!rh.hasFile) return check('mirrors', id, 'fail', `${rh.dir} has no hosts.toml: pulls of ${registry} go to the internet`, configure);
  if (rh.error !== undefined) return check('mirrors', id, 'fail', `${file} does not parse: ${rh.error}`, `fix it, or ${configure}`);
  const pulling = rh.hosts.filter((h) => h.capabilities.includes('pull') && h.capabilities.includes('resolve'));
  const via = rh.viaDefault ? ` (through ${file}, the catch-all)` : '';
  if (pulling.length === 0) {
    return check('mirrors', id, 'fail', `${file} names no host with capabilities ["pull", "resolve"]${via}: pulls of ${registry} go to ${rh.server ?? registry}`, configure);
  }
  const best = verdicts.find((v) => v.missing.length === 0);
  if (best) {
    return check('mirrors', id, rh.viaDefault ? 'warn' : 'ok', `${best.host.url} serves all ${best.served} bundle image(s) of ${registry} with the bundle's digests${via}`,
      rh.viaDefault ? configure.replace('writes', 'gives it its own') : undefined, { hostsToml: file, host: best.host.url });
  }
  const down = verdicts.filter((v) => v.down !== undefined);
  if (down.length === verdicts.length) {
    return check('mirrors', id, 'fail', `the mirror for ${registry} does not answer (${down.map((v) => `${v.host.url}: ${v.down}`).join('; ')}): pulls fall back to ${rh.server ?? `https://${registry}`} (the internet)`,
      `start the node registry (or airgap serve ${bundle} --addr HOST:PORT) at the address in ${file}, or point ${file} at one that runs`,
      { hostsToml: file, hosts: verdicts.map((v) => ({ url: v.host.url, error: v.down })) });
  }
  const v = verdicts.reduce((a, b) => (b.served > a.served ? b : a));
  const list = v.missing.slice(0, 5).map((m) => `${m.image} (${m.why})`).join(', ');
  return check('mirrors', id, 'fail', `${v.host.url} lacks ${v.missing.length} of ${count} bundle image(s) of ${registry}: ${list}${v.missing.length > 5 ? ', …' : ''}; those pulls fall back to the internet`,
    `load them: airgap load ${bundle} --registry <the registry behind ${v.host.url}>`, { hostsToml: file, missing: v.missing });
}

/** hosts.toml for every bundle registry, each mirror answering with the bundle's digests; catch-alls. */
export async function checkMirrors(ctx: DoctorContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const entries = await dirs(ctx.hostsDir);
  if (ctx.bundle) {
    for (const registry of ctx.bundle.registries) {
      const rh = await registryHosts(ctx.hostsDir, registry);
      const pulling = rh.hosts.filter((h) => h.capabilities.includes('pull') && h.capabilities.includes('resolve'));
      const verdicts = rh.hasFile && rh.error === undefined ? await Promise.all(pulling.map((h) => probeHost(ctx, registry, h))) : [];
      out.push(registryCheck(ctx, rh, verdicts));
    }
  }
  if (entries.includes('_default')) {
    out.push(check('mirrors', 'mirrors._default', 'warn',
      `${join(ctx.hostsDir, '_default')} applies to every registry without its own directory: pulls of registries not in the bundle go silently to what it names, and a typo in a registry directory's name is hidden by it`,
      `give each registry its own directory (airgap load --configure-containerd writes one per bundle registry) and remove ${join(ctx.hostsDir, '_default')} unless you mean every pull to go there`));
  }
  for (const w of entries.filter((e) => e.includes('*'))) {
    out.push(check('mirrors', `mirrors.wildcard`, 'warn', `${join(ctx.hostsDir, w)}: containerd does not expand wildcards in hosts directory names; this directory is ignored`,
      `name one directory per registry (e.g. ${join(ctx.hostsDir, 'registry.k8s.io')}), or use _default for a deliberate catch-all`));
  }
  return out;
}
