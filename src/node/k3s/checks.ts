/**
 * doctor's checks for k3s and RKE2: registries.yaml is the source of the mirrors (the hosts.toml
 * files are regenerated from it at start), `pause-image` the source of the sandbox image, and the
 * `"*"` mirror a known trap on the releases whose containerd 2.0 broke its fallback.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { check, type CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { releaseIn } from '../release.js';
import { readRegistries, type RegistriesFacts } from './registries-yaml.js';
import { readOptional } from '../file-change.js';
import { sameReference } from '../../oci/reference.js';
import { WILDCARD_BROKEN, type K3sNode } from './node.js';

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

export async function k3sChecks(node: K3sNode, ctx: NodeCheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const id = node.distribution;
  const file = node.registriesFile;
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const configure = `airgap load ${bundle} --registry URL --configure-containerd (writes one explicit entry per bundle registry into ${file})`;
  const restart = await node.restartCommand();
  const text = await readOptional(file).catch(() => null);
  let facts: RegistriesFacts | undefined;
  try {
    facts = readRegistries(text, file);
  } catch (e) {
    out.push(check('node', `${id}.registries`, 'fail', `${(e as Error).message}: ${node.title} does not start with it`, `fix the YAML in ${file}, then ${restart}`));
    return out;
  }
  if (!facts.exists) {
    out.push(check('node', `${id}.registries`, ctx.bundle ? 'fail' : 'warn', `${file} does not exist: ${node.title} configures no mirror, so every pull goes to the image's own registry (the internet)`, configure));
  } else {
    out.push(check('node', `${id}.registries`, 'ok', `${file}: ${facts.mirrors.size} mirror entr${facts.mirrors.size === 1 ? 'y' : 'ies'}${facts.wildcard ? ' (one is "*")' : ''}`));
  }

  if (ctx.bundle && facts.exists) {
    const missing = ctx.bundle.registries.filter((r) => (facts!.mirrors.get(r)?.endpoints.length ?? 0) === 0);
    if (missing.length > 0) {
      out.push(check('node', `${id}.mirror-entries`, 'fail',
        `${file} has no explicit mirror entry for ${missing.join(', ')}${facts.wildcard ? ' (only the "*" catch-all)' : ''}: pulls of their ${ctx.bundle.images.filter((i) => missing.includes(i.ref.registry)).length} bundle image(s) go to the internet`,
        configure, { missing }));
    } else {
      out.push(check('node', `${id}.mirror-entries`, 'ok', `every bundle registry (${ctx.bundle.registries.join(', ')}) has its own entry in ${file}`));
    }
  }

  if (facts.wildcard) {
    const release = await node.release();
    const v = ctx.containerd?.version;
    const broken = (release !== undefined && releaseIn(release.version, WILDCARD_BROKEN)) || (v !== undefined && v.major === 2 && v.minor === 0);
    const why = `a "*" mirror in ${file} becomes ${join(node.certsDir, '_default')}: under containerd 2.0 (${node.title} ${WILDCARD_BROKEN.join(' and ')}, k3s-io/k3s#11857) that broke the fallback to the real registry, so pulls of anything the mirror lacks fail NotFound and system pods stay in ContainerCreating`;
    const fix = `remove the "*" entry from ${file} and give each registry its own (${configure}), or upgrade ${node.title} to v1.31.7 / v1.32.3 or later; then ${restart}`;
    if (broken) {
      out.push(check('node', `${id}.wildcard-mirror`, 'fail', `${why}; this node runs ${release?.version ?? `containerd ${v!.raw}`}`, fix, { release: release?.version, containerd: v?.raw }));
    } else if (release === undefined && v === undefined) {
      out.push(check('node', `${id}.wildcard-mirror`, 'warn', `${why}; which ${node.title} release runs here is unknown (pass --kubernetes with it)`, fix));
    } else {
      out.push(check('node', `${id}.wildcard-mirror`, 'warn', `a "*" mirror in ${file} sends every registry without its own entry to its endpoints, silently (${release?.version ?? `containerd ${v?.raw}`} is not one of the releases where it breaks the fallback)`,
        `give each registry its own entry and remove "*" unless every pull is meant to go there`));
    }
  }

  // The hosts.toml files are k3s's output: older than registries.yaml means k3s has not restarted since.
  if (ctx.bundle && facts.exists) {
    const source = await mtime(file);
    const stale: string[] = [];
    for (const r of ctx.bundle.registries) {
      const generated = await mtime(join(node.certsDir, r, 'hosts.toml'));
      if (generated === undefined || (source !== undefined && generated < source)) stale.push(r);
    }
    if (stale.length > 0) {
      out.push(check('node', `${id}.generated-hosts`, 'warn', `${node.certsDir} has no up-to-date hosts.toml for ${stale.join(', ')}: ${node.title} writes them from ${basename(file)} when it starts`, restart));
    } else {
      out.push(check('node', `${id}.generated-hosts`, 'ok', `${node.title} generated a hosts.toml in ${node.certsDir} for every bundle registry`));
    }
  }

  const pause = await node.pauseImage();
  const want = ctx.bundle?.pause?.name;
  if (want !== undefined && pause.image !== undefined) {
    if (sameReference(pause.image, want)) out.push(check('node', `${id}.pause-image`, 'ok', `${node.title} uses ${pause.image} (${pause.source}), the bundle's pause`));
    else {
      const served = ctx.bundle!.images.some((i) => sameReference(i.name, pause.image!));
      out.push(check('node', `${id}.pause-image`, served ? 'warn' : 'fail',
        `${node.title} uses ${pause.image} as sandbox image (${pause.source}), but the bundle's pause is ${want}${served ? `; ${pause.image} is in the bundle too, so pods start` : `: every pod's sandbox pulls ${pause.image} from the internet`}`,
        `add \`pause-image: ${want}\` to ${join(node.configDir, 'config.yaml')} and ${restart}`, { runtime: pause.image, bundle: want }));
    }
  } else if (want !== undefined) {
    out.push(check('node', `${id}.pause-image`, 'warn', `cannot tell which pause image ${node.title} uses (${pause.source})`, `set \`pause-image: ${want}\` in ${join(node.configDir, 'config.yaml')} and ${restart}`));
  }
  return out;
}
