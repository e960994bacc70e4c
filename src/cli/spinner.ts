import type { Ora, Options } from 'ora';

/**
 * ora (and what it pulls in) costs ~90 ms of startup; only a live terminal display needs it. It is
 * loaded in the background when a live display is chosen, and a spinner appears once it is there.
 */
let loaded: typeof import('ora').default | undefined;
let loading: Promise<void> | undefined;

export function preloadSpinner(): Promise<void> {
  loading ??= import('ora').then(
    (m) => {
      loaded = m.default;
    },
    () => {
      // no spinner then; the line output still works
    },
  );
  return loading;
}

/** A started spinner, or undefined while ora is still loading (the caller tries again later). */
export function startSpinner(opts: Options): Ora | undefined {
  if (!loaded) {
    void preloadSpinner();
    return undefined;
  }
  return loaded(opts).start();
}
