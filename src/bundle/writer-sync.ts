/**
 * fdatasync for a file written over seconds. The kernel leaves freshly written pages dirty in the
 * page cache (writeback starts at a share of RAM or after ~30 s), so one fdatasync at the end would
 * write the whole bundle to disk while the user waits. Instead a background flush starts whenever
 * `every` bytes were written since the last one started: the disk writes while the network reads,
 * and the final flush has only the tail left. One flush at a time, and writes never wait for one.
 *
 * A failed fdatasync is final: the kernel reports a failed writeback once and may drop the pages,
 * so a later fdatasync can succeed over lost data. Every later write, flush and commit fails with
 * the first error.
 */
export class DataSyncer {
  /** bytes written so far (a counter: which writes a flush covers) */
  private written = 0;
  /** `written` when the last flush started */
  private startedAt = 0;
  /** `written` covered by the last flush that succeeded */
  private synced = 0;
  private running: Promise<void> | undefined;
  private error: Error | undefined;
  /** flushes started because enough bytes piled up (not by flush()) */
  background = 0;

  /**
   * @param sync fdatasync of the file
   * @param every bytes written between background flushes (0: none)
   * @param wrap turns an fdatasync error into the one every caller gets
   */
  constructor(
    private readonly sync: () => Promise<void>,
    private readonly every: number,
    private readonly wrap: (e: unknown) => Error,
  ) {}

  /** The first flush error, if any. */
  get failure(): Error | undefined {
    return this.error;
  }

  /** Throw the first flush error, if any: called before every write. */
  check(): void {
    if (this.error) throw this.error;
  }

  /** Count `n` bytes whose write completed; start a background flush when enough piled up. */
  wrote(n: number): void {
    this.written += n;
    if (this.every > 0 && !this.running && !this.error && this.written - this.startedAt >= this.every) {
      this.background++;
      // Its error is kept in this.error and thrown at the next write, flush or commit.
      this.start().catch(() => {});
    }
  }

  private start(): Promise<void> {
    const covers = this.written;
    this.startedAt = covers;
    const run: Promise<void> = new Promise<void>((resolve) => resolve(this.sync()))
      .then(
        () => {
          this.synced = Math.max(this.synced, covers);
        },
        (e: unknown) => {
          this.error ??= this.wrap(e);
          throw this.error;
        },
      )
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    this.running = run;
    return run;
  }

  /** Resolves once every byte whose write completed before this call is on disk. */
  async flush(): Promise<void> {
    const target = this.written;
    for (;;) {
      this.check();
      if (this.synced >= target && target > 0) return;
      if (this.running) await this.running.catch(() => {});
      else {
        await this.start();
        if (target === 0) return;
      }
    }
  }
}
