import { Command } from 'commander';
import { TOOL_VERSION } from '../version.js';

/**
 * The commander program. Each command lives in commands/<name>.ts and exports register(program);
 * commands only parse flags, call the library and format output.
 */
export function createProgram(): Command {
  const program = new Command('airgap')
    .description('Move a Kubernetes cluster\'s container images across an air gap.\n\n' +
      'Online:  airgap pack --kubernetes v1.30.14 -o k8s.tar\n' +
      'CI:      airgap verify k8s.tar --kubernetes v1.30.14\n' +
      'Offline: airgap load k8s.tar --registry http://127.0.0.1:5000 --containerd --configure-containerd')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  return program;
}
