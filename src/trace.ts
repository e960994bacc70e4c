/**
 * AIRGAP_TRACE=1: phase timings on stderr, in milliseconds since the process started
 * (performance.now()), to see where a run's wall time goes. Off: one boolean check per phase.
 */
const enabled = Boolean(process.env.AIRGAP_TRACE) && process.env.AIRGAP_TRACE !== '0';
let last = 0;

export function trace(phase: string): void {
  if (!enabled) return;
  const now = performance.now();
  process.stderr.write(`[airgap trace] ${now.toFixed(0).padStart(6)} ms  +${(now - last).toFixed(0).padStart(5)}  ${phase}\n`);
  last = now;
}
