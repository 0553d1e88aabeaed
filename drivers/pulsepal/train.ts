/**
 * PulseTrainSpec (physical units) → one Pulse Pal output's parameters (cycles, DAC codes).
 *
 * The firmware starts a pulse every (phase1Duration + interPulseInterval) cycles from the end of
 * the delay and stops the output when pulseTrainDuration has elapsed; a pulse due exactly at the
 * end is not started. So n pulses of width w every T take a train of (n − 1) × T + w, with
 * interPulseInterval = T − w. Monophasic, no bursts, no custom trains.
 */
import { OptoloopError } from '../../src/core/errors.js';
import type { PulseTrainSpec } from '../../src/core/stimulus-sink.js';
import { cyclesFromMs, voltageCode, type ChannelParams } from './protocol.js';

const STAGE = 'drivers/pulsepal';

/** An output that does nothing when triggered: every voltage at 0 V. */
export function silentChannel(): ChannelParams {
  const zero = voltageCode(0);
  return {
    isBiphasic: 0,
    phase1Voltage: zero,
    phase2Voltage: zero,
    restingVoltage: zero,
    phase1Duration: 20, // 1 ms: harmless at 0 V, and a valid program if the voltage is changed by hand
    interPhaseInterval: 0,
    phase2Duration: 20,
    interPulseInterval: 20,
    burstDuration: 0,
    interBurstInterval: 0,
    pulseTrainDuration: 20,
    pulseTrainDelay: 0,
    customTrainId: 0,
    customTrainTarget: 0,
    customTrainLoop: 0,
  };
}

function invalid(message: string, details: Record<string, unknown>): OptoloopError {
  return new OptoloopError('E_OPTIONS_INVALID', `Pulse Pal pulse train: ${message}`, { stage: STAGE, details });
}

/** Device parameters for a train at `level` × `fullScaleVolts`; throws E_OPTIONS_INVALID naming the field. */
export function trainToChannelParams(train: PulseTrainSpec, fullScaleVolts: number): ChannelParams {
  const { pulseWidthMs, pulseIntervalMs, pulseCount, delayMs, level } = train;
  if (!Number.isInteger(pulseCount) || pulseCount < 1) throw invalid(`pulseCount: expected an integer ≥ 1, got ${pulseCount}`, { pulseCount });
  if (!(level >= 0 && level <= 1)) throw invalid(`level: expected a fraction 0…1, got ${level}`, { level });
  if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw invalid(`delayMs: expected a number ≥ 0, got ${delayMs}`, { delayMs });
  const width = cyclesFromMs(pulseWidthMs);
  if (!Number.isFinite(pulseWidthMs) || width < 1) {
    throw invalid(`pulseWidthMs: expected at least one 50 µs cycle (≥ 0.025 ms after rounding), got ${pulseWidthMs}`, { pulseWidthMs });
  }
  let period = width + 1;
  if (pulseCount > 1) {
    period = cyclesFromMs(pulseIntervalMs);
    if (!Number.isFinite(pulseIntervalMs) || period <= width) {
      throw invalid(
        `pulseIntervalMs: expected more than the pulse width (${pulseWidthMs} ms) by at least one 50 µs cycle, got ${pulseIntervalMs}`,
        { pulseIntervalMs, pulseWidthMs },
      );
    }
  }
  const trainCycles = (pulseCount - 1) * period + width;
  const delayCycles = cyclesFromMs(delayMs);
  if (trainCycles > 0xffffffff || delayCycles > 0xffffffff) throw invalid('train or delay longer than the device can count (2^32 cycles)', { trainCycles, delayCycles });
  const zero = voltageCode(0);
  return {
    isBiphasic: 0,
    phase1Voltage: voltageCode(level * fullScaleVolts),
    phase2Voltage: zero,
    restingVoltage: zero,
    phase1Duration: width,
    interPhaseInterval: 0,
    phase2Duration: width,
    interPulseInterval: period - width,
    burstDuration: 0,
    interBurstInterval: 0,
    pulseTrainDuration: trainCycles,
    pulseTrainDelay: delayCycles,
    customTrainId: 0,
    customTrainTarget: 0,
    customTrainLoop: 0,
  };
}
