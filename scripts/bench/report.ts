import type { Machine } from './machine.js';
import type { BenchOptions } from './options.js';
import { ratio, type Row, type Target } from './rows.js';
import { fmtBytes, fmtMiB, fmtRatio, fmtSeconds, MiB, type Side } from './stats.js';

function value(r: Row, s: Side): string {
  return r.kind === 'throughput' ? `${s.mibPerSecond.toFixed(0)} MiB/s` : fmtSeconds(s.seconds);
}

function ratioText(r: Row): string {
  const x = fmtRatio(ratio(r));
  switch (r.kind) {
    case 'speedup':
      return `${x} faster`;
    case 'of-limit':
      return `${x} the limit`;
    case 'throughput':
      return `${x} the throughput`;
    case 'growth':
      return `time ${x}, memory ${fmtRatio(r.b.rssKiB / r.a.rssKiB)}`;
  }
}

export function resultsTable(rows: Row[]): string {
  const lines = [
    '| benchmark | airgap | median | compared with | median | ratio | peak RSS airgap | peak RSS other |',
    '|---|---|---:|---|---:|---|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.title} | ${r.a.label} | ${value(r, r.a)} | ${r.b.label} | ${value(r, r.b)} | ${ratioText(r)} | ${fmtMiB(r.a.rssKiB)} | ${fmtMiB(r.b.rssKiB)} |`);
  }
  return lines.join('\n');
}

export function targetsTable(targets: Target[]): string {
  const lines = ['| target | measured | met? |', '|---|---|---|'];
  for (const t of targets) lines.push(`| ${t.text} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

export function samplesList(rows: Row[]): string {
  const seen = new Set<Side>();
  const lines: string[] = [];
  for (const r of rows) {
    for (const s of [r.a, r.b]) {
      if (seen.has(s)) continue;
      seen.add(s);
      const xs = s.samples.map((x) => (r.kind === 'throughput' ? `${(s.bytes / MiB / x.seconds).toFixed(0)} MiB/s` : x.seconds.toFixed(2))).join(', ');
      lines.push(`- ${r.title} — ${s.label}: ${xs}`);
    }
  }
  return lines.join('\n');
}

export interface ReportInput {
  opts: BenchOptions;
  machine: Machine;
  setSize: { images: number; blobs: number; bytes: number; bundleBytes?: number };
  rows: Row[];
  targets: Target[];
  notes: string;
  wallSeconds: number;
}

export function markdown(r: ReportInput): string {
  const m = r.machine;
  const cmd = `sudo npm run bench -- --scale ${r.opts.scale} --reps ${r.opts.reps}${r.opts.only.length < 6 ? ` --only ${r.opts.only.join(',')}` : ''}${r.opts.only.includes('growth') ? ` --growth-scale ${r.opts.growthScale}` : ''}`;
  return `# Benchmarks

airgap against the tools people use today (skopeo, ctr, sha256sum, the distribution registry) and
against what the machine allows (every unique blob fetched once by parallel curl), measured by
\`npm run bench\` (scripts/bench/). Generated file: rerun the command below to refresh it.

## Results

Scale ${r.opts.scale}: the synthetic kubeadm v1.30.14 set from the test lab, ${r.setSize.images} images × 2
platforms (linux/amd64, linux/arm64), layers shared across images as upstream, ${r.setSize.blobs} unique blobs,
${fmtBytes(r.setSize.bytes)}${r.setSize.bundleBytes ? ` (the bundle: ${fmtBytes(r.setSize.bundleBytes)})` : ''}; served by a loopback distribution registry. Each pair ran
interleaved (A B A B …) ${r.opts.reps} time${r.opts.reps === 1 ? '' : 's'}; times are medians, peak RSS is the largest
process of a side (\`/usr/bin/time -f %M\`; daemons: VmHWM), the highest over the repetitions.

${resultsTable(r.rows)}

## Targets

${targetsTable(r.targets)}

## Notes

${r.notes}

## How it was measured

- **pack**: \`airgap pack --kubernetes v1.30.14 --platform all --registry-mirror registry.k8s.io=<lab registry>\`
  against skopeo 1.9 copying each image (\`copy --all\`) into one shared OCI layout followed by
  \`tar\`, and against the floor: every unique blob (indexes, manifests, configs, layers) fetched
  once by \`xargs -P 4 curl\` to files. skopeo 1.9 cannot store a Docker manifest list in an OCI
  layout unchanged, so \`--preserve-digests\` is passed only for the OCI-index images (the others
  are converted: same blobs, rewritten manifests).
- **load → registry**: \`airgap load BUNDLE --registry URL\` into a fresh, empty registry, against
  \`tar -x\` of skopeo's tar and \`skopeo copy --all --preserve-digests oci:DIR:REF docker://…\` of
  every image (skopeo 1.9's OCI reader skips index.json entries with Docker media types, so it
  reads its own layout, not airgap's bundle). skopeo's blob-info cache is deleted before every
  skopeo run: it would turn repeated pushes into mounts.
- **load → containerd**: \`airgap load BUNDLE --containerd SOCK\` against
  \`ctr -n k8s.io images import --all-platforms BUNDLE\`, each into a fresh containerd 1.6.
- **verify**: \`airgap verify BUNDLE\` (every blob re-hashed, the structure and the Kubernetes
  version's images checked) against \`sha256sum\` and \`openssl dgst -sha256\` of the same file.
- **serve**: ${r.opts.clients} concurrent \`curl\` clients download every config and layer from \`airgap serve
  BUNDLE\` and from the distribution registry holding the same images; MiB/s over all clients.
- **growth**: airgap alone on a set ${r.opts.growthScale / r.opts.scale}× larger (scale ${r.opts.growthScale}), one run each.
- No test asserts timings; this file is the record.

## Machine

- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memoryGiB.toFixed(1)} GiB; Linux ${m.kernel}; Node ${m.node}
- load average at start ${m.loadStart.map((x) => x.toFixed(2)).join(' ')}${m.loadEnd ? `, at end ${m.loadEnd.map((x) => x.toFixed(2)).join(' ')}` : ''} (other work shared the machine: absolute times are noisy, ratios of interleaved runs less so)
${Object.entries(m.tools).map(([k, v]) => `- ${k}: ${v}`).join('\n')}
- whole run: ${(r.wallSeconds / 60).toFixed(1)} min

## Every sample (seconds, or MiB/s)

${samplesList(r.rows)}

## Reproduce

\`\`\`
sudo bash scripts/lab-install.sh   # docker-registry, skopeo, containerd, curl, time, …
${cmd}
\`\`\`

Runs inside \`unshare -n\` (only lo): nothing leaves the machine. \`--quick\` is a smoke run (scale 0.1,
one repetition, no file written); \`--only pack,verify\` runs some suites; \`--help\` lists the rest.
`;
}
