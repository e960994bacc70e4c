/**
 * doctor on a CRI-O node: every bundle registry has a mirror in the files CRI-O reads
 * (registries.conf, registries.conf.d/*.conf, a later file winning per prefix), that mirror
 * answers for the bundle's images with the bundle's digests, and CRI-O's pause_image
 * (crio.conf, crio.conf.d/*.conf, the last one wins) is the bundle's pause.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { check, type CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import type { HostEntry } from '../containerd/hosts-file.js';
import { probeHost, type HostVerdict } from '../containerd/checks/mirrors.js';
import { getPath, parseToml } from '../containerd/toml.js';
import { readOptional } from '../file-change.js';
import type { CrioNode } from './node.js';
import { entryFor, readRegistriesConf, type RegistryMirror } from './registries-conf.js';

/** pause_image as CRI-O ends up with it (undefined: CRI-O's built-in default), and the file it came from. */
export async function crioPauseImage(node: CrioNode): Promise<{ value?: string; file?: string; errors: { file: string; error: string }[] }> {
  const out: { value?: string; file?: string; errors: { file: string; error: string }[] } = { errors: [] };
  for (const file of await node.crioConfigFiles()) {
    const text = await readOptional(file).catch(() => null);
    if (text === null) continue;
    try {
      const v = getPath(parseToml(text, file).root, ['crio', 'image', 'pause_image']);
      if (typeof v === 'string') {
        out.value = v;
        out.file = file;
      }
    } catch (e) {
      out.errors.push({ file, error: (e as Error).message });
    }
  }
  return out;
}

/** The hosts containers/image would try for a mirror location: https, then http when insecure. */
function hostsOf(m: RegistryMirror, certsDir: string): HostEntry[] {
  const host = m.location.split('/')[0]!;
  const ca = [join(certsDir, host, 'ca.crt')].filter((f) => existsSync(f));
  const path = m.location.slice(host.length);
  const https: HostEntry = { url: `https://${host}/v2${path}`, capabilities: ['pull', 'resolve'], overridePath: true, ca, skipVerify: m.insecure };
  return m.insecure ? [https, { ...https, url: `http://${host}/v2${path}` }] : [https];
}

export async function crioChecks(node: CrioNode, ctx: NodeCheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const facts = await readRegistriesConf(node.etcContainers);
  for (const e of facts.errors) {
    out.push(check('node', 'crio.registries-conf', 'fail', `${e.file} does not parse: ${e.error}; CRI-O cannot pull any image while it is broken`,
      `fix the file (containers-registries.conf(5), version 2), or move it away; then ${'systemctl reload crio'}`, { file: e.file }));
  }

  const pause = await crioPauseImage(node);
  for (const e of pause.errors) {
    out.push(check('node', 'crio.config', 'fail', `${e.file} does not parse: ${e.error}`, 'fix the file (crio.conf(5)); CRI-O does not start with it broken', { file: e.file }));
  }
  const want = ctx.bundle?.pause?.name;
  if (want !== undefined) {
    if (pause.value === want) {
      out.push(check('sandbox', 'sandbox.image', 'ok', `CRI-O's pause_image is ${want} (${pause.file}), the bundle's pause`));
    } else {
      out.push(check('sandbox', 'sandbox.image', 'fail',
        pause.value === undefined
          ? `no pause_image in ${node.etcCrio}/crio.conf or crio.conf.d/*.conf: CRI-O uses its built-in default and pulls it from the internet for every pod, while the bundle has ${want}`
          : `CRI-O's pause_image is ${pause.value} (${pause.file}), but the bundle has ${want}: every pod sandbox pulls ${pause.value}`,
        node.sandboxFix(want, bundle), { ...(pause.value !== undefined ? { pauseImage: pause.value, file: pause.file } : {}), bundle: want }));
    }
  }

  if (!ctx.bundle) return out;
  const certsDir = join(node.etcContainers, 'certs.d');
  for (const registry of ctx.bundle.registries) {
    const id = `mirrors.${registry}`;
    const count = ctx.bundle.images.filter((i) => i.ref.registry === registry).length;
    const fix = node.mirrorFix(registry, bundle);
    const entry = entryFor(facts, registry);
    if (entry === undefined || entry.mirrors.length === 0) {
      out.push(check('mirrors', id, 'fail',
        `${entry === undefined ? `no [[registry]] for ${registry}` : `the [[registry]] for ${registry} in ${entry.file} has no mirror`} in ${facts.files.length ? facts.files.join(', ') : `${node.etcContainers}/registries.conf(.d)`}: pulls of its ${count} bundle image(s) go to ${entry?.location ?? registry} (the internet)`,
        fix));
      continue;
    }
    const verdicts: HostVerdict[] = [];
    for (const m of entry.mirrors) {
      for (const h of hostsOf(m, certsDir)) {
        const v = await probeHost(ctx, registry, h);
        verdicts.push(v);
        if (v.down === undefined) break; // the scheme answered: no http fallback
      }
    }
    const best = verdicts.find((v) => v.missing.length === 0);
    if (best) {
      out.push(check('mirrors', id, 'ok', `${best.host.url} serves all ${best.served} bundle image(s) of ${registry} with the bundle's digests (${entry.file})`, undefined,
        { file: entry.file, mirror: best.host.url }));
      continue;
    }
    const down = verdicts.filter((v) => v.down !== undefined);
    if (down.length === verdicts.length) {
      out.push(check('mirrors', id, 'fail', `the mirror for ${registry} does not answer (${down.map((v) => `${v.host.url}: ${v.down}`).join('; ')}): pulls fall back to ${entry.location} (the internet)`,
        `start the node registry (or airgap serve ${bundle} --addr HOST:PORT) at the location in ${entry.file}, or point it at one that runs`, { file: entry.file }));
      continue;
    }
    const v = verdicts.reduce((a, b) => (b.served > a.served ? b : a));
    out.push(check('mirrors', id, 'fail', `${v.host.url} lacks ${v.missing.length} of ${count} bundle image(s) of ${registry}: ${v.missing.slice(0, 5).map((m) => `${m.image} (${m.why})`).join(', ')}${v.missing.length > 5 ? ', …' : ''}; those pulls fall back to the internet`,
      `load them: airgap load ${bundle} --registry <the registry behind ${v.host.url}>`, { file: entry.file, missing: v.missing }));
  }
  return out;
}
