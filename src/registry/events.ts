/**
 * What the client tells an observer (progress display, --verbose log). URLs are redacted and no
 * event ever carries a credential, token or Authorization header.
 */
export type RegistryEvent =
  | { type: 'retry'; method: string; url: string; attempt: number; attempts: number; delayMs: number; reason: string }
  | { type: 'redirect'; method: string; from: string; to: string; authorizationDropped: boolean }
  | { type: 'auth'; registry: string; scheme: 'basic' | 'bearer'; realm?: string; scope?: string; anonymous: boolean }
  | { type: 'resume'; digest: string; offset: number; size: number; url: string; attempt: number; reason: string }
  | { type: 'range-ignored'; digest: string; offset: number; url: string }
  | { type: 'fallback'; what: 'head-to-get' | 'https-to-http'; registry: string; reason: string }
  | { type: 'credentials'; registry: string; source: string; warning?: string };

export type EventSink = (e: RegistryEvent) => void;

/** Observers must not break a transfer: their exceptions are swallowed. */
export function safeEmit(sink: EventSink | undefined, e: RegistryEvent): void {
  if (!sink) return;
  try {
    sink(e);
  } catch {
    /* an observer's bug is not a transfer failure */
  }
}
