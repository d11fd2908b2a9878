import type { Dispatcher } from 'undici';
import type { ProxySettings } from '../net/dispatcher.js';
import type { Backend, BackendName } from '../types.js';
import { createNativeBackend } from './native.js';

/** What a backend is built from: the run's choice and its network, never a project's settings (those travel on each task). */
export interface BackendSetup {
  readonly backend: BackendName;
  /** `--aria2c`: the binary to run (default `aria2c` on PATH). */
  readonly aria2c: string | undefined;
  readonly dispatcher: Dispatcher;
  /** A new dispatcher with the same proxy/TLS/timeouts (for a retry on a fresh connection). */
  readonly freshDispatcher?: () => Dispatcher;
  /** The proxies and CA certificates behind `dispatcher`, for a backend that is not undici (aria2). */
  readonly network?: { readonly proxies: ProxySettings; readonly ca: readonly string[] | undefined };
}

/** The single place that turns `--backend` into a Backend. aria2 is probed here, so a missing binary stops the run (exit 2) before any download. */
export async function pickBackend(setup: BackendSetup): Promise<Backend> {
  switch (setup.backend) {
    case 'native':
      // A retry's fresh connection must keep the proxy and CA settings (net/dispatcher.ts).
      return createNativeBackend({ dispatcher: setup.dispatcher, ...(setup.freshDispatcher ? { freshDispatcher: () => setup.freshDispatcher!() } : {}) });
    case 'aria2': {
      // Loaded on demand: aria2.js pulls in execa (~80 ms and ~10 MB of startup for every native run).
      const { createAria2Backend } = await import('./aria2.js');
      return createAria2Backend({ aria2c: setup.aria2c, dispatcher: setup.dispatcher, ...(setup.network ? { network: setup.network } : {}) });
    }
  }
}
