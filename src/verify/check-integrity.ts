import { digestAlgorithm, type Digest } from '../oci/digest.js';
import { findings, type BundleCheck } from './check.js';
import { formatBytes, formatDuration, listNames, plural } from './format.js';
import { defaultHashThreads, hashRanges, type RangeToHash } from './rehash.js';

function usedBy(users: Set<string> | undefined): string {
  return users && users.size ? `used by ${listNames([...users].sort(), 8)}` : 'used by no image';
}

/**
 * Every blob re-hashed: its size (entry against every descriptor naming it) and its digest. A
 * damaged blob is named with every image that uses it. Manifests and configs were already read
 * and verified by the graph walk and are not read twice.
 */
export const integrityCheck: BundleCheck = {
  name: 'integrity',
  async run(ctx) {
    const { reader, graph } = ctx;
    const f = findings('integrity');
    const fileSize = reader.tar.fileSize;
    const digests = reader.blobDigests();
    const jobs: { digest: Digest; range: RangeToHash; declared: number }[] = [];
    let hashedInWalk = 0;
    let bytesInWalk = 0;
    // When index.json or a manifest cannot be read, the blobs below it look unused: say so gently.
    const graphIncomplete = reader.index === null || [...graph.nodes.values()].some((n) => n.error && (n.kind === 'index' || n.kind === 'manifest'));

    for (const digest of digests) {
      const e = reader.blobEntry(digest)!;
      if (e.offset < 0) continue; // a manifest airgap built (docker-archive): its own bytes, read and checked in the walk
      const node = graph.nodes.get(digest);
      const users = node ? [...node.users].sort() : [];
      if (node) {
        for (const s of node.declaredSizes) {
          if (s !== e.size) {
            ctx.damaged.add(digest);
            f.add('error', 'size-mismatch', `blob ${digest} is ${e.size} bytes in the bundle, but a descriptor says ${s}; ${usedBy(node.users)}`, {
              digest, images: users, entry: e.rawName, expected: String(s), actual: String(e.size),
            });
          }
        }
      } else if (graphIncomplete) {
        f.add('info', 'unreferenced-blob', `blob ${digest} (${formatBytes(e.size)}) is not reachable from index.json; a damaged manifest or index may be what pointed at it`, { digest, entry: e.rawName });
      } else {
        f.add('warning', 'unreferenced-blob', `blob ${digest} (${formatBytes(e.size)}) is not used by any image in index.json`, { digest, entry: e.rawName });
      }
      if (e.truncated) {
        const have = Math.max(0, fileSize - e.offset);
        ctx.damaged.add(digest);
        f.add('error', 'truncated-blob', `blob ${digest} is cut short by the end of the archive at byte ${fileSize}: ${have} of ${e.size} bytes present; ${usedBy(node?.users)}`, {
          digest, images: users, entry: e.rawName, offset: fileSize, expected: String(e.size), actual: String(have),
        });
        continue;
      }
      if (node?.verified) {
        hashedInWalk++;
        bytesInWalk += e.size;
        continue;
      }
      jobs.push({ digest, declared: e.size, range: { algorithm: digestAlgorithm(digest), offset: e.offset, length: e.size } });
    }

    const started = performance.now();
    const threads = Math.min(ctx.hash.threads ?? defaultHashThreads(), jobs.length);
    // A streamed archive was hashed as it passed; a file is re-hashed in place, in parallel.
    const file = reader.file;
    const results = file
      ? await hashRanges(file, jobs.map((j) => j.range), ctx.hash)
      : jobs.map((j) => reader.passHash(reader.blobEntry(j.digest)!.name, j.range.algorithm) ?? { digest: 'unknown (not hashed as it passed)', bytes: 0 });
    const ms = performance.now() - started;
    let bytes = 0;
    results.forEach((r, i) => {
      const j = jobs[i]!;
      bytes += r.bytes;
      if (r.digest !== j.digest) {
        ctx.damaged.add(j.digest);
        const users = [...(graph.nodes.get(j.digest)?.users ?? [])].sort();
        f.add('error', 'digest-mismatch', `blob ${j.digest} does not match its digest (its bytes hash to ${r.digest}); ${usedBy(graph.nodes.get(j.digest)?.users)}`, {
          digest: j.digest, images: users, entry: reader.blobEntry(j.digest)?.rawName, expected: j.digest, actual: r.digest,
        });
      }
    });
    ctx.bytesHashed = bytes + bytesInWalk;
    const damaged = new Set(f.list.filter((x) => x.severity === 'error').map((x) => x.digest)).size;
    const rate = ms > 0 ? bytes / 1024 / 1024 / (ms / 1000) : 0;
    return {
      findings: f.list,
      subjects: graph.images.map((i) => i.ref),
      stats: {
        blobs: digests.length,
        damaged,
        bytesHashed: ctx.bytesHashed,
        verifiedDuringWalk: hashedInWalk,
        threads: jobs.length ? Math.max(1, threads) : 0,
        hashMs: Math.round(ms),
        mibPerSecond: Math.round(rate),
      },
      summary: damaged
        ? `${damaged} of ${plural(digests.length, 'blob')} damaged`
        : file
          ? `${plural(digests.length, 'blob')} re-hashed, all match (${formatBytes(ctx.bytesHashed)} in ${formatDuration(ms)}${bytes > 64 * 1024 * 1024 ? `, ${Math.round(rate)} MiB/s` : ''})`
          : `${plural(digests.length, 'blob')} hashed as the stream was read, all match (${formatBytes(ctx.bytesHashed)})`,
    };
  },
};
