import type { Command } from 'commander';
import { runDoctor, type DoctorOptions } from '../../doctor/doctor.js';
import { renderDoctorText } from '../../doctor/report-text.js';
import { ExitCode } from '../exit-codes.js';
import { parseDistributionFlag } from '../../node/detect.js';

/** What commander hands over: DoctorOptions' fields, except --ctr arrives as one string. */
type DoctorFlags = Pick<DoctorOptions, 'bundle' | 'distribution' | 'containerdConfig' | 'hostsDir' | 'address' | 'kubeadmConfig' | 'kubernetes' | 'kubeletDir' | 'shimConfig'> & {
  ctr?: string;
  json?: boolean;
};

const EXAMPLES = `
Examples:
  # on the node, after airgap load: is every pull served locally?
  airgap doctor --bundle k8s.tar

  # a k3s, RKE2 or k0s node is detected (or say --distribution k3s): its registries.yaml, the "*"
  # mirror trap, pause-image, a replaced k0s containerd.toml are checked the distribution's way
  airgap doctor --bundle k8s.tar --distribution k3s --kubernetes v1.32.2+k3s1

  # a Sealos node: kubelet pulls through image-cri-shim; its socket, its registry, imageRepository
  airgap doctor --bundle k8s.tar --kubeadm-config /etc/kubernetes/kubeadm-init.yaml

  # the kubeadm configuration too, for automation
  airgap doctor --bundle k8s.tar --kubeadm-config /etc/kubernetes/kubeadm.yaml --json

Each check is ok, warn or fail, and every warn and fail says how to fix it. Nothing is changed.
Exit status: 0 when nothing fails (warnings allowed), 1 when a check fails.`;

export function register(program: Command): void {
  program
    .command('doctor')
    .description('explain every reason a pull on this node could still go to the internet or fail')
    .option('--bundle <file>', 'the bundle the node is served from (its images, registries, pause)')
    .option('--distribution <name>', 'the kind of node: auto (detect from its files, sockets and binaries), kubeadm, k3s, rke2 or k0s', 'auto')
    .option('--containerd-config <file>', "kubeadm nodes: containerd's configuration", '/etc/containerd/config.toml')
    .option('--hosts-dir <dir>', "where the hosts.toml files are (default: containerd's config_path)")
    .option('--address <socket>', "containerd's socket (default: kubelet's runtime endpoint, else /run/containerd/containerd.sock)")
    .option('--kubeadm-config <file>', 'a kubeadm configuration file (ClusterConfiguration)')
    .option('--kubernetes <version>', 'the version the node runs: v1.30.14, or the distribution\'s release (v1.30.14+k3s1) (default: the kubeadm config\'s, else the bundle\'s)')
    .option('--kubelet-dir <dir>', "kubelet's directory, for the runtime it uses", '/var/lib/kubelet')
    .option('--shim-config <file>', "Sealos: image-cri-shim's configuration (its registry and credentials)", '/etc/image-cri-shim.yaml')
    .option('--ctr <command>', 'the ctr to run, e.g. "k3s ctr"')
    .option('--json', 'one JSON report on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DoctorFlags) => {
      const opts: DoctorOptions = {
        ...(flags.bundle !== undefined ? { bundle: flags.bundle } : {}),
        ...(flags.distribution !== undefined ? { distribution: parseDistributionFlag(flags.distribution) } : {}),
        ...(flags.containerdConfig !== undefined ? { containerdConfig: flags.containerdConfig } : {}),
        ...(flags.hostsDir !== undefined ? { hostsDir: flags.hostsDir } : {}),
        ...(flags.address !== undefined ? { address: flags.address } : {}),
        ...(flags.kubeadmConfig !== undefined ? { kubeadmConfig: flags.kubeadmConfig } : {}),
        ...(flags.kubernetes !== undefined ? { kubernetes: flags.kubernetes } : {}),
        ...(flags.kubeletDir !== undefined ? { kubeletDir: flags.kubeletDir } : {}),
        ...(flags.shimConfig !== undefined ? { shimConfig: flags.shimConfig } : {}),
        ...(flags.ctr !== undefined ? { ctr: flags.ctr.split(/\s+/).filter(Boolean) } : {}),
      };
      const report = await runDoctor(opts);
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else {
        const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
        process.stdout.write(renderDoctorText(report, { color }));
      }
      process.exitCode = report.ok ? ExitCode.Ok : ExitCode.CheckFailed;
    });
}
