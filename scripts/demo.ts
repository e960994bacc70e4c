#!/usr/bin/env node
/**
 * The whole airgap flow, offline, in about a minute (npm run demo; needs root for the network
 * namespace and containerd, like the tests). Every server is started here on 127.0.0.1 and stopped
 * by PID; scripts/demo.sh runs this inside `unshare -n`, so nothing can leave the machine.
 *
 *   online side:  synthetic kubeadm v1.30.14 images in a loopback "upstream" registry
 *                 -> airgap images -> airgap pack (checked against a list) -> airgap verify / inspect
 *   offline side: airgap serve (the bundle as a registry) -> airgap load into an empty node registry
 *                 and containerd, configure containerd -> a kubelet-style CRI pull by original name
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertIsolatedNetwork, generateImages, seedRegistry, startContainerd, startRegistry } from './lab/index.js';
import { CLI } from '../test/helpers/cli.js';

const K8S = 'v1.30.14';
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function step(title: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

/** Run the airgap CLI with its output shown; return the exit code (some steps are meant to fail). */
async function airgap(args: string[], expectExit = 0): Promise<number> {
  process.stdout.write(`$ airgap ${args.join(' ')}\n`);
  const r = await execa(process.execPath, [CLI, ...args], { stdio: 'inherit', reject: false });
  if (r.exitCode !== expectExit) throw new Error(`airgap ${args[0]} exited ${r.exitCode}, expected ${expectExit}`);
  return r.exitCode ?? -1;
}

async function main(): Promise<void> {
  await assertIsolatedNetwork();
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'airgap-demo-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    step('Online side: an "upstream" registry with synthetic kubeadm v1.30.14 images (2 platforms)');
    const gen = await generateImages({ scale: 0.05, platforms: ['linux/amd64', 'linux/arm64'] });
    const upstream = await startRegistry();
    stops.push(() => upstream.stop());
    await seedRegistry(upstream, gen);
    process.stdout.write(`upstream at ${upstream.url}: ${gen.images.map((i) => i.ref).join(', ')}\n`);
    const mirror = `registry.k8s.io=${upstream.url}/registry.k8s.io`;

    step('Which images does Kubernetes v1.30.14 need?');
    await airgap(['images', '--kubernetes', K8S]);

    step('The distribution\'s list, with the classic mistake: pause:3.8 where v1.30.14 needs pause:3.9');
    const good = (await execa(process.execPath, [CLI, 'images', '--kubernetes', K8S])).stdout;
    const goodList = join(work, 'airgap-images-list.txt');
    const badList = join(work, 'bad-images-list.txt');
    await writeFile(goodList, `# kubeadm ${K8S}\n${good}\n`);
    await writeFile(badList, good.replace('registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.8') + '\n');
    await airgap(['verify', '--list', badList, '--kubernetes', K8S], 1);
    await airgap(['pack', '--kubernetes', K8S, '--list', badList, '--registry-mirror', mirror, '-o', join(work, 'never.tar')], 1);

    step('Pack with the right list, both platforms, through the mirror');
    const bundle = join(work, `k8s-${K8S}.tar`);
    await airgap(['pack', '--kubernetes', K8S, '--list', goodList, '--platform', 'linux/amd64,linux/arm64',
      '--registry-mirror', mirror, '-o', bundle]);

    step('Verify it, as CI would (JUnit for the dashboard), and inspect it');
    await airgap(['verify', bundle, '--kubernetes', K8S, '--list', goodList, '--junit', join(work, 'verify.xml')]);
    await airgap(['inspect', bundle]);

    step('Offline side: serve the bundle in place as a registry');
    const serve = execa(process.execPath, [CLI, 'serve', bundle, '--addr', '127.0.0.1:0', '--json'], { reject: false });
    const serveUrl = await new Promise<string>((resolve, reject) => {
      let buf = '';
      serve.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split('\n')) {
          try {
            const e = JSON.parse(line) as { event?: string; url?: string };
            if (e.event === 'ready' && e.url) resolve(e.url);
          } catch { /* partial line */ }
        }
      });
      serve.once('exit', () => reject(new Error('airgap serve exited before it was ready')));
    });
    stops.push(async () => { serve.kill('SIGTERM'); await serve; });
    const skopeo = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false',
      `docker://${serveUrl.replace(/^https?:\/\//, '')}/registry.k8s.io/pause:3.9`]);
    process.stdout.write(`skopeo reads registry.k8s.io/pause:3.9 from airgap serve (${serveUrl}): ${JSON.parse(skopeo.stdout).manifests.length} platform manifests\n`);

    step('Load into an empty node registry and into containerd (which still has the pause:3.8 trap)');
    const node = await startRegistry();
    stops.push(() => node.stop());
    const ctrd = await startContainerd({ dir: join(work, 'containerd'), sandboxImage: 'registry.k8s.io/pause:3.8' });
    stops.push(() => ctrd.stop());
    const loadArgs = ['load', bundle, '--registry', node.url, '--containerd', ctrd.socket, '--configure-containerd',
      '--containerd-config', ctrd.configFile, '--hosts-dir', ctrd.hostsDir];
    await airgap([...loadArgs, '--dry-run']);
    await airgap(loadArgs);
    step('Load again: nothing to do');
    await airgap(loadArgs);

    step('A kubelet-style pull by original name, served by the node registry');
    await ctrd.ctr(['-n', 'k8s.io', 'images', 'rm', 'registry.k8s.io/kube-apiserver:v1.30.14']).catch(() => '');
    const ref = await ctrd.cri.pullImage('registry.k8s.io/kube-apiserver:v1.30.14');
    process.stdout.write(`CRI PullImage(registry.k8s.io/kube-apiserver:v1.30.14) -> ${ref}\n`);
    const config = await readFile(ctrd.configFile, 'utf8');
    process.stdout.write(`containerd's config now names ${/sandbox_image\s*=\s*"([^"]+)"/.exec(config)?.[1] ?? '(see drop-in)'} as sandbox image (after a restart)\n`);

    step(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});
