/** Ask the running containerd what doctor needs: its version, the CRI plugin's settings, its images. */
import { CriClient } from '../../cri/index.js';
import type { ContainerdFacts } from '../check-context.js';
import { Ctr, findCtr } from './ctr.js';
import { runningSettings } from './running-settings.js';
import { parseVersionString } from './version.js';

export interface ContainerdFactsOptions {
  /** The ctr to run, e.g. ["k3s", "ctr"]. */
  ctr?: string[];
  /** The node's own ctr when none is on PATH. */
  ctrFallback?: string[];
  namespace?: string;
  timeoutMs?: number;
}

export async function gatherContainerdFacts(address: string, opts: ContainerdFactsOptions = {}): Promise<ContainerdFacts> {
  const out: ContainerdFacts = { address, reachable: false };
  let ctr: Ctr;
  try {
    ctr = new Ctr(await findCtr(address, opts.ctr, opts.ctrFallback), address, opts.namespace ?? 'k8s.io');
    const raw = await ctr.serverVersion();
    out.reachable = true;
    const v = parseVersionString(raw, 'ctr version');
    if (v) out.version = v;
  } catch (e) {
    out.error = (e as Error).message;
    return out;
  }
  try {
    const cri = new CriClient(address, { timeoutMs: opts.timeoutMs ?? 5000 });
    out.running = runningSettings((await cri.status({ verbose: true })).info);
  } catch (e) {
    out.criError = (e as Error).message;
  }
  try {
    out.images = await ctr.images();
  } catch (e) {
    out.imagesError = (e as Error).message;
  }
  return out;
}
