import { collect } from '../options.js';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Ora } from 'ora';
import { AirgapError, FileError, UsageError } from '../../errors.js';
import { formatBytes } from '../../verify/format.js';
import { REPORT_SCHEMA_VERSION, type VerifyReport } from '../../verify/report.js';
import { renderJson } from '../../verify/report-json.js';
import { renderJunit, xmlEscape } from '../../verify/report-junit.js';
import { renderText } from '../../verify/report-text.js';
import { verifyBundle } from '../../verify/verify-bundle.js';
import { verifyList } from '../../verify/verify-list.js';

interface VerifyCliOptions {
  list?: string;
  kubernetes?: string;
  distribution?: string;
  platform?: string[];
  json?: boolean;
  junit?: string;
  verbose?: boolean;
}


function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** A JUnit file for input we could not read at all, so the CI dashboard shows why instead of nothing. */
function junitForError(subject: string, e: AirgapError): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${xmlEscape(`airgap verify ${subject}`)}" tests="1" failures="0" errors="1" skipped="0" time="0">\n` +
    `  <testsuite name="read" tests="1" failures="0" errors="1" skipped="0" time="0">\n` +
    `    <testcase classname="airgap.verify.read" name="${xmlEscape(subject)}" time="0">\n` +
    `      <error type="${xmlEscape(e.code)}" message="${xmlEscape(e.message)}">${xmlEscape(`${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}`)}</error>\n` +
    `    </testcase>\n  </testsuite>\n</testsuites>\n`;
}

async function run(bundle: string | undefined, opts: VerifyCliOptions): Promise<void> {
  if (bundle === undefined && (opts.list === undefined || opts.kubernetes === undefined)) {
    throw new UsageError('ERR_USAGE', 'nothing to verify: give a BUNDLE, or --list FILE with --kubernetes VERSION', {
      hint: 'airgap verify k8s.tar [--kubernetes v1.30.14], or airgap verify --list images.txt --kubernetes v1.30.14',
    });
  }
  if (bundle === undefined && opts.platform?.length) {
    throw new UsageError('ERR_USAGE', '--platform needs a BUNDLE to check', { hint: 'airgap verify BUNDLE --platform linux/amd64' });
  }
  if (bundle === '-' && opts.list === '-') {
    throw new UsageError('ERR_USAGE', 'the bundle and --list cannot both come from standard input', { hint: 'give the list as a file: airgap verify - --list images.txt < bundle.tar' });
  }
  let spinner: Ora | undefined;
  if (!opts.json && bundle !== undefined && process.stderr.isTTY && !process.env.CI) {
    // Loaded only for a person at a terminal: CI runs skip its cost.
    const { default: ora } = await import('ora');
    spinner = ora({ text: `reading ${bundle}`, stream: process.stderr }).start();
  }
  let report: VerifyReport;
  try {
    if (bundle === undefined) {
      report = await verifyList({ list: opts.list!, kubernetes: opts.kubernetes!, ...(opts.distribution ? { distribution: opts.distribution } : {}) });
    } else {
      let hashed = 0;
      report = await verifyBundle(bundle, {
        ...(opts.list !== undefined ? { list: opts.list } : {}),
        ...(opts.kubernetes !== undefined ? { kubernetes: opts.kubernetes } : {}),
        ...(opts.distribution ? { distribution: opts.distribution } : {}),
        ...(opts.platform?.length ? { platforms: opts.platform } : {}),
        hash: {
          onProgress: (n) => {
            hashed += n;
            if (spinner) spinner.text = `re-hashing blobs: ${formatBytes(hashed)}`;
          },
        },
        onCheck: (c) => {
          if (spinner) spinner.text = `checked ${c.title}`;
        },
        // A stream (stdin, .tar.gz, .tar.zst) is hashed as it is read, in one pass.
        onProgress: (n) => {
          if (spinner) spinner.text = `reading ${bundle === '-' ? 'standard input' : bundle}: ${formatBytes(n)} of tar`;
        },
        onNotice: (m) => {
          spinner?.clear();
          process.stderr.write(`note: ${m}\n`);
        },
      });
    }
  } catch (e) {
    spinner?.stop();
    if (opts.junit && e instanceof AirgapError && e.kind !== 'usage') {
      await writeFile(opts.junit, junitForError(bundle ?? opts.list ?? '', e)).catch(() => undefined);
    }
    throw e;
  }
  spinner?.stop();
  process.stdout.write(opts.json ? renderJson(report) : renderText(report, { color: useColor(process.stdout), verbose: opts.verbose ?? false }));
  if (opts.junit) {
    const junit = opts.junit;
    await writeFile(junit, renderJunit(report)).catch((e: NodeJS.ErrnoException) => {
      // Node's write errors (ENOSPC) carry no path: say which file.
      throw new FileError('ERR_REPORT_WRITE', `cannot write the JUnit report ${junit}: ${e.code === 'ENOSPC' ? 'no space left on device' : e.code === 'ENOENT' ? 'its directory does not exist' : e.message}`, {
        hint: 'free space or choose another --junit path',
        details: { path: junit },
        cause: e,
      });
    });
  }
  if (!report.ok) process.exitCode = 1;
}

export function register(program: Command): void {
  program
    .command('verify')
    .summary('check a bundle (or an image list) before it crosses the gap: what CI runs')
    .description(
      'Check a bundle: the tar is sane, the OCI layout and airgap metadata are consistent, every blob is ' +
        're-hashed, every manifest\'s config, layers and platforms are there (or left out on purpose), and ' +
        'it holds what --list and the Kubernetes version need. Without a BUNDLE, checks a list against ' +
        'what --kubernetes needs, offline.\n\n' +
        'Exit codes: 0 all good, 1 verification failed, 2 usage error, 3 cannot read the input.',
    )
    .argument('[bundle]', 'the bundle .tar, or any OCI layout tar (skopeo oci-archive, ctr images export) or docker-archive (docker save, podman save, k3s/RKE2 image tarballs); .tar.gz and .tar.zst are read as they are (by content, in one pass); "-" reads standard input')
    .option('--list <file>', 'image list, one reference a line ("#" comments): each must be in the bundle with that tag; "-" reads stdin. For k3s and rke2 the published list (k3s-images.txt, rke2-images*.txt) is the release\'s set: its pause must be the release\'s')
    .option('--kubernetes <version>', 'every image this Kubernetes version needs must be there (default: the version the bundle records)')
    .option('--distribution <name>', 'whose images --kubernetes means: kubeadm, k0s, k3s or rke2 (default: what the bundle records, or what the version names, v1.30.14+rke2r1; else kubeadm)')
    .option('--platform <platforms>', 'every image must have these platforms: linux/amd64, linux/arm64,linux/amd64, or all (repeatable)', collect)
    .option('--json', `print the report as JSON (schemaVersion ${REPORT_SCHEMA_VERSION}; docs/verify.md)`)
    .option('--junit <file>', 'also write a JUnit XML report: a test case per check and per image')
    .option('--verbose', 'show notes as well as errors and warnings')
    .addHelpText(
      'after',
      `
Examples:
  # in CI, after pack: is the bundle whole, and does it hold what v1.30.14 needs?
  airgap verify k8s.tar --kubernetes v1.30.14 --junit verify.xml

  # both platforms must be in every image
  airgap verify k8s.tar --platform linux/amd64,linux/arm64

  # the bundle matches the list it was packed from
  airgap verify k8s.tar --list images.txt

  # what arrived on the far side, compressed, checked in one pass without unpacking
  airgap verify k8s.tar.zst
  zstd -dc k8s.tar.zst | airgap verify -

  # a docker save archive or k3s's image tarball (manifests built by airgap: digests not the registry's)
  airgap verify k3s-airgap-images-amd64.tar.zst

  # a list against a version, before packing anything (offline)
  airgap verify --list images.txt --kubernetes v1.30.14

  # an RKE2 release's published list: fails (exit 1) when its pause is not the release's
  airgap verify --distribution rke2 --kubernetes v1.30.14+rke2r1 --list rke2-images-core.linux-amd64.txt
`,
    )
    .action(async (bundle: string | undefined, opts: VerifyCliOptions) => {
      await run(bundle, opts);
    });
}
