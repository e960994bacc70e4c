import type { Command } from 'commander';
import { inspectBundle } from '../../verify/inspect.js';
import { renderInspectText } from '../../verify/inspect-text.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .summary('show what a bundle holds, instantly (reads no layer)')
    .description(
      'Show a bundle\'s metadata without reading its layers: Kubernetes version, images with digests and ' +
        'platforms, sizes, blobs shared between images, creation time and tool version. Works on other ' +
        'tools\' OCI layout archives too. Use airgap verify to check the content.',
    )
    .argument('<bundle>', 'the bundle .tar (also .tar.gz, .tar.zst, a docker save archive, or "-" for standard input; a stream is read through once)')
    .option('--json', 'print as JSON (docs/verify.md, "inspect JSON")')
    .action(async (bundle: string, opts: { json?: boolean }) => {
      const r = await inspectBundle(bundle);
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : renderInspectText(r));
    });
}
