import type { BackendSetup } from '../prefetch.js';
import { createNativeBackend } from './native.js';
import type { Backend } from './types.js';

/** The single place that turns `--backend` into a Backend. aria2 is probed here, so a missing binary stops the run (exit 2) before any download. */
export async function pickBackend(setup: BackendSetup): Promise<Backend> {
  switch (setup.options.backend) {
    case 'native':
      // A retry's fresh connection must keep the proxy and CA settings (net/dispatcher.ts).
      return createNativeBackend({ dispatcher: setup.dispatcher, ...(setup.freshDispatcher ? { freshDispatcher: () => setup.freshDispatcher!() } : {}) });
    case 'aria2': {
      // Loaded on demand: aria2.js pulls in execa (~80 ms and ~10 MB of startup for every native run).
      const { createAria2Backend } = await import('./aria2.js');
      return createAria2Backend({ aria2c: setup.options.aria2c, dispatcher: setup.dispatcher, ...(setup.network ? { network: setup.network } : {}) });
    }
  }
}
