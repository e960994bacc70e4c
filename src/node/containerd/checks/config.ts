import { resolve } from 'node:path';
import { describeKey, keysForVersion } from '../keys.js';
import { tomlKeyPath } from '../toml.js';
import { configVersionFor } from '../version.js';
import { builtInConfigPath } from '../plan.js';
import { check, type CheckResult } from '../../check.js';
import type { NodeCheckContext as DoctorContext } from '../../check-context.js';

/** containerd's configuration: version, config_path (hosts.toml are read only with it), legacy mirrors, restart. */
export function checkContainerdConfig(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  const cfg = ctx.config!;
  const v = ctx.containerd?.version;
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const configure = `airgap load ${bundle} --configure-containerd --mirror URL (or --registry URL)`;
  const keys = keysForVersion(cfg.version ?? (v ? configVersionFor(v) : 2));

  if (cfg.error !== undefined) {
    out.push(check('containerd', 'containerd.config', 'fail', `cannot read containerd's configuration: ${cfg.error}`, `fix ${cfg.configPath} (or pass the right one with --containerd-config)`));
    return out;
  }
  if (!cfg.exists) {
    out.push(check('containerd', 'containerd.config', 'warn', `${cfg.configPath} does not exist: containerd runs on its defaults (no config_path, its own sandbox image)`,
      `${configure} writes it; or pass the file containerd uses with --containerd-config`));
  } else if (cfg.version === undefined || cfg.version < 2) {
    out.push(check('containerd', 'containerd.config', 'fail', `${cfg.configPath} is a version 1 configuration (${cfg.version === undefined ? 'no version line' : `version = ${cfg.version}`}): the CRI keys airgap relies on live elsewhere there`,
      v && v.major >= 2 ? `containerd config migrate > ${cfg.configPath}.new, review, move into place, restart containerd` : `start from containerd config default, add version = 2, carry your settings over, restart containerd`));
  } else if (v && v.major < 2 && cfg.version > 2) {
    out.push(check('containerd', 'containerd.config', 'fail', `${cfg.configPath} says version = ${cfg.version}, but containerd ${v.raw} reads version 2 at most: it fails to start or ignores the CRI settings`,
      'use a version 2 configuration (containerd config default > config.toml) and restart containerd'));
  } else {
    out.push(check('containerd', 'containerd.config', 'ok', `${cfg.configPath}: version ${cfg.version}${v ? ` (containerd ${v.raw} reads ${configVersionFor(v)})` : ''}`));
  }
  for (const m of cfg.missingImports) {
    out.push(check('containerd', 'containerd.imports', 'fail', `${m.importedBy} imports ${m.path}, which does not exist: containerd will not start`, `create ${m.path} or remove the import`));
  }

  const running = ctx.containerd?.running;
  const onDisk = cfg.registryConfigPath?.value ?? builtInConfigPath(v) ?? '';
  const effective = running?.configPath ?? onDisk;
  if (effective === '') {
    out.push(check('containerd', 'containerd.config-path', 'fail',
      `config_path is not set${running ? ' in the running containerd' : ''}: containerd reads no hosts.toml, so every pull goes to the image's own registry (the internet)`,
      `${configure}; or set ${describeKey(keys.configPath)} = "${ctx.hostsDir}" and restart containerd`));
  } else {
    const dirs = effective.split(':').filter((d) => d !== '').map((d) => resolve(d));
    const hint = ctx.opts.hostsDir !== undefined && !dirs.includes(resolve(ctx.opts.hostsDir));
    out.push(check('containerd', 'containerd.config-path', hint ? 'warn' : 'ok',
      hint ? `config_path is ${effective}, not --hosts-dir ${ctx.opts.hostsDir}: containerd reads its hosts.toml files from ${dirs[0]}`
        : `config_path = ${effective}${cfg.registryConfigPath ? ` (${cfg.registryConfigPath.where})` : ''}`,
      hint ? `drop --hosts-dir, or point config_path at ${ctx.opts.hostsDir}` : undefined));
  }
  if (cfg.mirrors.length > 0) {
    const list = cfg.mirrors.map((m) => `${m.value} (${m.file}:${m.line})`).join(', ');
    const withPath = effective !== '';
    out.push(check('containerd', 'containerd.legacy-mirrors', 'fail',
      withPath
        ? `legacy registry.mirrors entries (${list}) next to config_path: containerd refuses the combination, its CRI plugin does not load and no pod starts`
        : `legacy registry.mirrors entries (${list}): they stop config_path from being usable, so hosts.toml mirrors cannot be configured`,
      `move each mirror into ${ctx.hostsDir}/<registry>/hosts.toml ([host."<endpoint>"] capabilities = ["pull", "resolve"]), delete the [${tomlKeyPath(keys.mirrors)}."<registry>"] tables, restart containerd`,
      { mirrors: cfg.mirrors.map((m) => ({ registry: m.value, file: m.file, line: m.line })) }));
  }
  if (running) {
    const stale: string[] = [];
    if (running.configPath !== undefined && onDisk !== running.configPath) stale.push(`config_path: running "${running.configPath}", file "${onDisk}"`);
    if (running.sandboxImage !== undefined && cfg.sandboxImage && cfg.sandboxImage.value !== running.sandboxImage) stale.push(`sandbox image: running ${running.sandboxImage}, file ${cfg.sandboxImage.value}`);
    if (stale.length > 0) {
      out.push(check('containerd', 'containerd.restart', 'warn', `containerd runs with other settings than its configuration files say (${stale.join('; ')})`, 'restart containerd: systemctl restart containerd'));
    }
  } else if (ctx.containerd?.reachable) {
    out.push(check('containerd', 'containerd.cri', 'warn', `the CRI plugin did not answer (${ctx.containerd.criError ?? 'no answer'}): kubelet cannot use this containerd, and the settings it runs with are unknown`,
      'check `journalctl -u containerd` for why the CRI plugin did not load (legacy mirrors next to config_path is a common cause), fix it, restart containerd'));
  }
  return out;
}
