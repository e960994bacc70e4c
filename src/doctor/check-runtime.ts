import { check, type CheckResult } from '../node/check.js';
import type { DoctorContext } from './doctor.js';

/** The runtime kubelet uses decides which of the other checks (and fixes) apply at all. */
export function checkRuntime(ctx: DoctorContext): CheckResult[] {
  const r = ctx.runtime;
  const pause = ctx.bundle?.pause?.name ?? '<the bundle\'s pause image>';
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const out: CheckResult[] = [];
  const details = { kind: r.kind, endpoint: r.endpoint, source: r.source };
  switch (r.kind) {
    case 'containerd':
      out.push(check('runtime', 'runtime.kind', 'ok', `kubelet uses containerd (${r.endpoint}, from ${r.source})`, undefined, details));
      break;
    case 'docker':
      out.push(check('runtime', 'runtime.kind', 'warn',
        `kubelet uses Docker Engine through cri-dockerd (${r.endpoint}, from ${r.source}): images come from Docker's image store, not containerd's k8s.io namespace, and containerd's hosts.toml files are not read`,
        `put every bundle image into Docker's image store: \`airgap load ${bundle} --docker\`, and start cri-dockerd with --pod-infra-container-image=${pause}`,
        details));
      break;
    case 'cri-o':
      out.push(check('runtime', 'runtime.kind', 'warn',
        `kubelet uses CRI-O (${r.endpoint}, from ${r.source}): airgap load --containerd and hosts.toml do not apply`,
        `load the bundle into the node registry (airgap load ${bundle} --registry URL) and add it as a mirror for each registry in /etc/containers/registries.conf.d/; set pause_image = "${pause}" in /etc/crio/crio.conf`,
        details));
      break;
    default:
      out.push(check('runtime', 'runtime.kind', 'warn', `cannot tell which runtime kubelet uses: ${r.source}; assuming containerd`,
        'pass containerd\'s socket with --address, or --kubelet-dir where kubelet keeps kubeadm-flags.env / config.yaml', details));
  }
  if (r.socketExists === false) {
    out.push(check('runtime', 'runtime.endpoint', 'fail', `kubelet's runtime endpoint ${r.endpoint} (from ${r.source}) is not a socket: the runtime is not running, or kubelet points at the wrong one`,
      r.kind === 'docker' ? 'start cri-dockerd (systemctl start cri-docker.socket cri-docker.service)' : r.kind === 'containerd' ? 'start containerd (systemctl start containerd)' : 'start the container runtime, or fix --container-runtime-endpoint'));
  }
  if (r.kind === 'docker' && r.podInfraImage !== undefined && ctx.bundle?.pause && r.podInfraImage !== ctx.bundle.pause.name) {
    out.push(check('runtime', 'runtime.pod-infra-image', 'fail',
      `kubelet's --pod-infra-container-image is ${r.podInfraImage}, but the bundle has ${ctx.bundle.pause.name}: creating a pod would pull ${r.podInfraImage} from the internet`,
      `set --pod-infra-container-image=${ctx.bundle.pause.name} for cri-dockerd and in kubeadm-flags.env, then restart cri-dockerd and kubelet`));
  }
  return out;
}
