import { OptoloopError } from '../core/errors.js';
import type { Probe } from './probeinterface.js';

/**
 * Where each recording channel sits: the geometry the pipeline works with, indexed by channel
 * (block order), not by contact. Built from a probe plus a channel map.
 */
export interface ChannelLayout {
  readonly channelCount: number;
  readonly xUm: Float64Array;
  readonly yUm: Float64Array;
  /** Shank index per channel, 0-based into `shankNames`. */
  readonly shank: Int32Array;
  readonly shankNames: readonly string[];
  /** Contact id per channel, for display and export. */
  readonly contactIds: readonly string[];
  readonly probeName: string;
}

export interface ChannelMapOptions {
  /**
   * Contact id recorded on each channel, in channel order. Overrides the probe file's
   * `device_channel_indices`.
   */
  readonly channelContactIds?: readonly string[];
}

/**
 * Lays a probe's contacts onto `channelCount` recording channels. The map comes from, in order:
 * `options.channelContactIds`; the probe's `device_channel_indices`; or, when the probe has exactly
 * `channelCount` contacts, contact i on channel i. Anything else is an error that says which map is
 * missing, rather than a silently wrong geometry.
 */
export function layoutFromProbe(probe: Probe, channelCount: number, options: ChannelMapOptions = {}): ChannelLayout {
  const contactOfChannel = new Int32Array(channelCount).fill(-1);
  const source = `probe ${probe.modelName}`;
  if (options.channelContactIds) {
    if (options.channelContactIds.length !== channelCount) {
      throw new OptoloopError(
        'E_PROBE_INVALID',
        `${source}: channel map: expected ${channelCount} contact ids (one per channel), got ${options.channelContactIds.length}`,
        { stage: 'probe' },
      );
    }
    const byId = new Map(probe.contacts.map((c, i) => [c.id, i]));
    options.channelContactIds.forEach((id, channel) => {
      const index = byId.get(id);
      if (index === undefined) {
        throw new OptoloopError('E_PROBE_INVALID', `${source}: channel map[${channel}]: no contact with id "${id}"`, {
          stage: 'probe',
        });
      }
      contactOfChannel[channel] = index;
    });
  } else if (probe.deviceChannelIndices) {
    probe.deviceChannelIndices.forEach((channel, contact) => {
      if (channel < 0) return;
      if (channel >= channelCount) {
        throw new OptoloopError(
          'E_PROBE_INVALID',
          `${source}: device_channel_indices[${contact}]: expected a channel below ${channelCount}, got ${channel}`,
          { stage: 'probe' },
        );
      }
      contactOfChannel[channel] = contact;
    });
    const missing = contactOfChannel.indexOf(-1);
    if (missing >= 0) {
      throw new OptoloopError('E_PROBE_INVALID', `${source}: device_channel_indices: no contact is wired to channel ${missing}`, {
        stage: 'probe',
      });
    }
  } else if (probe.contacts.length === channelCount) {
    for (let c = 0; c < channelCount; c++) contactOfChannel[c] = c;
  } else {
    throw new OptoloopError(
      'E_PROBE_INVALID',
      `${source}: has ${probe.contacts.length} contacts but the stream has ${channelCount} channels, and no channel map ` +
        `was given: expected device_channel_indices in the probe file or probe.channelContactIds in the config`,
      { stage: 'probe' },
    );
  }
  return buildLayout(
    probe.modelName,
    Array.from(contactOfChannel, (i) => probe.contacts[i]),
  );
}

/** A layout from explicit positions, e.g. SpikeGLX's `~snsGeomMap` or a simulator's own probe. */
export function buildLayout(
  probeName: string,
  channels: readonly { readonly id: string; readonly xUm: number; readonly yUm: number; readonly shankId: string }[],
): ChannelLayout {
  const shankNames: string[] = [];
  const shank = new Int32Array(channels.length);
  channels.forEach((c, i) => {
    let s = shankNames.indexOf(c.shankId);
    if (s < 0) s = shankNames.push(c.shankId) - 1;
    shank[i] = s;
  });
  return {
    channelCount: channels.length,
    xUm: Float64Array.from(channels, (c) => c.xUm),
    yUm: Float64Array.from(channels, (c) => c.yUm),
    shank,
    shankNames,
    contactIds: channels.map((c) => c.id),
    probeName,
  };
}

/** A single-shank line of channels `pitchUm` apart: the fallback when a recording has no probe. */
export function linearLayout(channelCount: number, pitchUm = 20): ChannelLayout {
  return buildLayout(
    `linear-${channelCount}`,
    Array.from({ length: channelCount }, (_, i) => ({ id: String(i), xUm: 0, yUm: i * pitchUm, shankId: '0' })),
  );
}
