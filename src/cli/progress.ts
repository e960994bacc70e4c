import type { Ora } from 'ora';
import { preloadSpinner, startSpinner } from './spinner.js';
import type { PackEvent, PackSummary } from '../pack/events.js';
import type { RegistryEvent } from '../registry/events.js';
import { formatBytes, formatDuration, formatRate, RateMeter, shortDigest, shortRef } from './progress-format.js';

/**
 * How pack's events reach people: on a terminal one live line (bytes, rate, ETA, the images in
 * flight) with a line printed per finished image; elsewhere just the lines; with --json one JSON
 * object per line (NDJSON) for programs.
 */

export type ProgressMode = 'tty' | 'lines' | 'json';

export interface PackReporter {
  onEvent(e: PackEvent): void;
  onRegistryEvent(e: RegistryEvent): void;
  /** End the live display (before an error is printed, or after the summary). */
  stop(): void;
}

export function progressMode(opts: { json: boolean; stream: NodeJS.WriteStream }): ProgressMode {
  if (opts.json) return 'json';
  // A terminal without a width (some ptys) would make the live line's redraw arithmetic run away.
  const width = opts.stream.columns ?? 0;
  return opts.stream.isTTY && width > 20 && !process.env.CI && process.env.TERM !== 'dumb' ? 'tty' : 'lines';
}

export function createPackReporter(mode: ProgressMode, stream: NodeJS.WritableStream): PackReporter {
  return mode === 'json' ? new JsonReporter(stream) : new HumanReporter(stream, mode === 'tty');
}

class JsonReporter implements PackReporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  onEvent(e: PackEvent): void {
    if (e.event === 'blob-progress') return; // far too many; blob-start/blob-done carry the facts
    this.out.write(`${JSON.stringify(e)}\n`);
  }
  onRegistryEvent(e: RegistryEvent): void {
    if (e.type === 'retry' || e.type === 'resume' || e.type === 'range-ignored' || e.type === 'fallback' || (e.type === 'credentials' && e.warning)) {
      const { type, ...rest } = e;
      this.out.write(`${JSON.stringify({ event: 'registry', type, ...rest })}\n`);
    }
  }
  stop(): void {}
}

interface ImageProgress {
  total: number;
  done: number;
}

export function summaryLines(s: PackSummary): string[] {
  const lines = [
    `${s.dryRun ? 'Would pack' : 'Packed'} ${s.images} image${s.images === 1 ? '' : 's'} (${s.platforms}) ${s.output === '-' ? 'to stdout' : `into ${s.output}`}`,
    `  ${s.blobs} unique blobs, ${formatBytes(s.bytes)}; dedup saved ${formatBytes(s.savedByDedup)}; bundle ${formatBytes(s.bundleSize)}`,
  ];
  if (!s.dryRun) {
    const resumed = s.resumedBytes ? `, ${formatBytes(s.resumedBytes)} kept from an interrupted run` : '';
    lines.push(`  fetched ${formatBytes(s.fetched)}${resumed} in ${formatDuration(s.seconds)}${s.seconds > 0 && s.fetched ? ` (${formatRate(s.fetched / s.seconds)})` : ''}`);
  }
  return lines;
}

class HumanReporter implements PackReporter {
  private spinner: Ora | undefined;
  private readonly images = new Map<string, ImageProgress>();
  private readonly blobImages = new Map<string, string[]>();
  private readonly active = new Set<string>();
  private readonly meter = new RateMeter();
  private total = 0;
  private done = 0;
  private resolved = 0;
  private imageCount = 0;
  private lastRender = 0;

  constructor(private readonly out: NodeJS.WritableStream, private readonly live: boolean) {
    if (live) void preloadSpinner();
  }

  private print(line: string): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      this.out.write(`${line}\n`);
      this.spinner.render();
    } else {
      this.out.write(`${line}\n`);
    }
  }

  private setText(text: string, force = false): void {
    if (!this.live) return;
    const now = Date.now();
    if (!force && now - this.lastRender < 100) return;
    this.lastRender = now;
    // One line only: a wrapped live line cannot be redrawn in place.
    const width = (this.out as NodeJS.WriteStream).columns ?? 80;
    if (text.length > width - 3) text = `${text.slice(0, Math.max(10, width - 4))}…`;
    if (!this.spinner) {
      this.spinner = startSpinner({ text, stream: this.out, discardStdin: false });
    } else {
      this.spinner.text = text;
    }
  }

  private progressText(): string {
    const rate = this.meter.rate();
    const left = this.total - this.done;
    const pct = this.total ? Math.floor((this.done / this.total) * 100) : 100;
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    const current = [...this.active]
      .flatMap((d) => this.blobImages.get(d) ?? [])
      .filter((v, i, a) => a.indexOf(v) === i)
      .slice(0, 3)
      .map((ref) => {
        const p = this.images.get(ref);
        return `${shortRef(ref)} ${p && p.total ? Math.min(99, Math.floor((p.done / p.total) * 100)) : 0}%`;
      });
    return `${pct}% ${formatBytes(this.done)} / ${formatBytes(this.total)}  ${formatRate(rate)}  ETA ${eta}${current.length ? `  ${current.join(', ')}` : ''}`;
  }

  onEvent(e: PackEvent): void {
    switch (e.event) {
      case 'start': {
        this.imageCount = e.images;
        const what = e.kubernetes ? `Kubernetes ${e.kubernetes.version} (${e.kubernetes.distribution})` : 'images';
        const platform = e.defaultPlatform ? `${e.platforms} (the default; choose with --platform, or --platform all)` : e.platforms;
        this.print(`Packing ${what}: ${e.images} image${e.images === 1 ? '' : 's'}, platform ${platform}, into ${e.output === '-' ? 'stdout' : e.output}`);
        this.setText(`Resolving ${e.images} images…`, true);
        break;
      }
      case 'notice':
        this.print(`note: ${e.message}`);
        break;
      case 'resolving':
        break;
      case 'resolved':
        this.resolved++;
        this.images.set(e.ref, { total: e.bytes, done: 0 });
        this.setText(`Resolving images… ${this.resolved}/${this.imageCount}`, this.resolved === this.imageCount);
        break;
      case 'plan': {
        this.total = e.bytes;
        this.done = e.bytes - e.toFetch;
        const dedup = e.bytesWithoutDedup - e.bytes;
        const resumed = e.resumedBytes ? `; ${formatBytes(e.resumedBytes)} already there from an interrupted run` : '';
        this.print(`${e.dryRun ? 'Would fetch' : 'Fetching'} ${e.layers} layers: ${e.blobs} unique blobs, ${formatBytes(e.bytes)}${dedup > 0 ? ` (dedup saves ${formatBytes(dedup)})` : ''}${resumed}`);
        if (!e.dryRun) this.setText(this.progressText(), true);
        break;
      }
      case 'blob-start':
        this.active.add(e.digest);
        this.blobImages.set(e.digest, e.images);
        break;
      case 'blob-progress':
        this.done += e.bytes;
        this.meter.add(e.bytes);
        for (const ref of this.blobImages.get(e.digest) ?? []) {
          const p = this.images.get(ref);
          if (p) p.done += e.bytes;
        }
        this.setText(this.progressText());
        break;
      case 'blob-retry':
        this.print(`note: ${shortDigest(e.digest)}: ${e.error}; trying again from byte ${e.offset} (attempt ${e.attempt + 1})`);
        break;
      case 'blob-done':
        this.active.delete(e.digest);
        break;
      case 'image-done':
        this.print(`✓ ${e.ref}  ${e.platforms.join(',')}  ${formatBytes(e.bytes)}  ${shortDigest(e.digest)}`);
        break;
      case 'summary':
        this.stop();
        for (const l of summaryLines(e)) this.out.write(`${l}\n`);
        break;
    }
  }

  onRegistryEvent(e: RegistryEvent): void {
    if (e.type === 'retry') this.print(`note: ${e.method} ${e.url}: ${e.reason}; retrying in ${formatDuration(e.delayMs / 1000)} (${e.attempt}/${e.attempts})`);
    else if (e.type === 'resume') this.print(`note: ${shortDigest(e.digest)}: ${e.reason}; continuing at byte ${e.offset}`);
    else if (e.type === 'credentials' && e.warning) this.print(`warning: ${e.registry}: ${e.warning}`);
  }

  stop(): void {
    if (this.spinner) {
      this.spinner.stop();
      this.spinner = undefined;
    }
  }
}
