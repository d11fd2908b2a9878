/**
 * Preloaded into every test process (`npm test` passes `--import`): a process warning fails the
 * run. A warning is how Node reports a file descriptor closed twice, a listener leak or an
 * unhandled-rejection policy change; a suite that only prints them lets them ship.
 */
process.on('warning', (warning) => {
  // Thrown from the listener, it becomes an uncaught exception in the test that caused it.
  throw new Error(`process warning: ${warning.name}: ${warning.message}`);
});
