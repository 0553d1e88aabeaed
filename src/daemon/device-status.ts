import type { DeviceStatus } from '../core/status.js';

/**
 * A device's link status, from whichever of the two shapes its driver offers (`status()` on
 * DeviceConnection-based drivers, `deviceStatus(name)` on the TCP sources); null for sources and
 * sinks without a link (files, the simulator).
 */
export function deviceStatusOf(name: string, device: unknown): DeviceStatus | null {
  const d = device as { status?: () => DeviceStatus; deviceStatus?: (name: string) => DeviceStatus };
  if (typeof d.deviceStatus === 'function') return d.deviceStatus(name);
  if (typeof d.status === 'function') {
    const status = d.status();
    return status && typeof status === 'object' && 'state' in status ? { ...status, name } : null;
  }
  return null;
}
