/**
 * doctor's checks for k0s: containerd.toml must stay k0s's (a replaced one in an old format is how
 * a node ended up on containerd's built-in pause:3.8 while its bundle held pause:3.9), and the
 * drop-in must give the bundle's pause and the hosts directory.
 */
import { join } from 'node:path';
import { check, type CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { keysForVersion } from '../containerd/keys.js';
import { getPath, parseToml } from '../containerd/toml.js';
import { readOptional } from '../file-change.js';
import { isK0sManaged, K0S_MANAGED_MARKER, type K0sNode } from './node.js';

export async function k0sChecks(node: K0sNode, ctx: NodeCheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const restart = await node.restartCommand();
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const configure = `airgap load ${bundle} --registry URL --configure-containerd (writes ${node.dropInPath} and hosts.toml files in ${node.certsDir})`;
  const text = await readOptional(node.containerdConfig).catch(() => null);
  if (!isK0sManaged(text)) {
    let version: number | undefined;
    let sandbox: unknown;
    try {
      const doc = parseToml(text!, node.containerdConfig);
      version = typeof doc.root.version === 'number' ? doc.root.version : undefined;
      sandbox = getPath(doc.root, keysForVersion(version).sandboxImage);
    } catch {
      version = undefined;
    }
    const fix = `move your settings from ${node.containerdConfig} into a drop-in in ${node.dropInDir} (e.g. ${join(node.dropInDir, 'custom.toml')}), delete ${node.containerdConfig} so k0s writes its own again, ${restart}; then ${configure}`;
    const old = version === undefined || version < 2 || typeof sandbox !== 'string';
    out.push(check('node', 'k0s.containerd-toml', old ? 'fail' : 'warn',
      `${node.containerdConfig} was replaced (no "${K0S_MANAGED_MARKER}" line)` +
        (old ? `${version === undefined || version < 2 ? ' with a version 1 file' : ' without a sandbox image'}: containerd runs on its own defaults — its built-in pause (3.8 on containerd 1.7) instead of k0s's and the bundle's — and k0s ignores every drop-in in ${node.dropInDir}`
          : `: k0s ignores every drop-in in ${node.dropInDir}, so only that file configures containerd`),
      fix, { file: node.containerdConfig, version }));
  } else {
    out.push(check('node', 'k0s.containerd-toml', 'ok', `${node.containerdConfig} is k0s managed${text === null ? ' (k0s writes it at start)' : ''}: drop-ins in ${node.dropInDir} apply`));
  }

  const dropIn = await readOptional(node.dropInPath).catch(() => null);
  const want = ctx.bundle?.pause?.name;
  if (dropIn === null) {
    out.push(check('node', 'k0s.drop-in', ctx.bundle ? 'fail' : 'warn', `${node.dropInPath} does not exist: nothing sets the bundle's pause or points containerd at the hosts.toml files`, configure));
  } else {
    try {
      const doc = parseToml(dropIn, node.dropInPath);
      const keys = keysForVersion(typeof doc.root.version === 'number' ? doc.root.version : undefined);
      const sandbox = getPath(doc.root, keys.sandboxImage);
      const cp = getPath(doc.root, keys.configPath);
      const wrong = [
        ...(want !== undefined && sandbox !== want ? [`sandbox image ${typeof sandbox === 'string' ? sandbox : '(unset)'} instead of ${want}`] : []),
        ...(cp !== node.certsDir ? [`config_path ${typeof cp === 'string' ? cp : '(unset)'} instead of ${node.certsDir}`] : []),
      ];
      if (wrong.length) out.push(check('node', 'k0s.drop-in', 'fail', `${node.dropInPath} has ${wrong.join(', ')}`, configure));
      else out.push(check('node', 'k0s.drop-in', 'ok', `${node.dropInPath} sets ${typeof sandbox === 'string' ? `the sandbox image ${sandbox} and ` : ''}config_path ${cp}`));
    } catch (e) {
      out.push(check('node', 'k0s.drop-in', 'fail', `${node.dropInPath} does not parse: ${(e as Error).message}`, configure));
    }
  }
  return out;
}
