import { check, type CheckResult } from '../node/check.js';
import { CRI_DOCKERD_RESTART, podInfraOf } from '../node/docker/node.js';
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
      // The CRI-O checks (registries.conf mirrors, pause_image, the mirror answering) follow.
      out.push(check('runtime', 'runtime.kind', 'ok', `kubelet uses CRI-O (${r.endpoint}, from ${r.source}): images are pulled through the mirrors in /etc/containers/registries.conf(.d); there is no import`, undefined, details));
      break;
    default:
      out.push(check('runtime', 'runtime.kind', 'warn', `cannot tell which runtime kubelet uses: ${r.source}; assuming containerd`,
        'pass containerd\'s socket with --address, or --kubelet-dir where kubelet keeps kubeadm-flags.env / config.yaml', details));
  }
  if (r.socketExists === false) {
    out.push(check('runtime', 'runtime.endpoint', 'fail', `kubelet's runtime endpoint ${r.endpoint} (from ${r.source}) is not a socket: the runtime is not running, or kubelet points at the wrong one`,
      r.kind === 'docker' ? 'start cri-dockerd (systemctl start cri-docker.socket cri-docker.service)' : r.kind === 'containerd' ? 'start containerd (systemctl start containerd)'
        : r.kind === 'cri-o' ? 'start CRI-O (systemctl start crio)' : 'start the container runtime, or fix --container-runtime-endpoint'));
  }
  if (r.kind === 'docker' && ctx.bundle?.pause) {
    const want = ctx.bundle.pause.name;
    // cri-dockerd's own command line, as systemd runs it (the unit, then its drop-ins: airgap's 50-airgap.conf).
    const unitValue = podInfraOf(ctx.criDockerd?.exec);
    if (r.podInfraImage !== undefined && r.podInfraImage !== want) {
      out.push(check('runtime', 'runtime.pod-infra-image', 'fail',
        `kubelet's --pod-infra-container-image is ${r.podInfraImage}, but the bundle has ${want}: creating a pod would pull ${r.podInfraImage} from the internet`,
        `set --pod-infra-container-image=${want} for cri-dockerd (airgap load ${bundle} --docker --configure) and in kubeadm-flags.env, then ${CRI_DOCKERD_RESTART} and restart kubelet`));
    } else if (unitValue !== undefined && unitValue !== want) {
      out.push(check('runtime', 'runtime.pod-infra-image', 'fail',
        `cri-dockerd runs with --pod-infra-container-image=${unitValue} (${ctx.criDockerd?.file}), but the bundle has ${want}: creating a pod would pull ${unitValue} from the internet`,
        `airgap load ${bundle} --docker --configure (writes /etc/systemd/system/cri-docker.service.d/50-airgap.conf); then ${CRI_DOCKERD_RESTART}`,
        { file: ctx.criDockerd?.file, podInfraImage: unitValue }));
    } else if (unitValue === want) {
      out.push(check('runtime', 'runtime.pod-infra-image', 'ok', `cri-dockerd runs with --pod-infra-container-image=${want} (${ctx.criDockerd?.file}), the bundle's pause`,
        undefined, { file: ctx.criDockerd?.file }));
    }
  }
  return out;
}
