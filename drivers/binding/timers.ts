/**
 * The drivers' timers are the project's injectable timers (src/core/timers.ts): re-exported here
 * because they are part of the device binding contract every driver and emulator imports.
 */
export { ManualTimers, delay, systemTimers, type TimerHandle, type Timers } from '../../src/core/timers.js';
