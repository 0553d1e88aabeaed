/**
 * The emulated Cyton driven by raw bytes over a real pty: text replies as the Cyton library
 * prints them, multi-character commands, channel power, and silence while streaming.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialBinding } from '../../../../drivers/binding/serial-binding.js';
import { ManualTimers } from '../../../../drivers/binding/timers.js';
import { CytonEmulator, type CytonEvent } from '../../../../sim/devices/openbci/emulator.js';
import { PtyPair } from '../../../../sim/devices/pty-pair.js';
import { until } from '../../../helpers/async.js';
import { PortCollector } from '../../../helpers/pty-reader.js';

async function rig(daisyFitted = false) {
  const pair = await PtyPair.create();
  const timers = new ManualTimers();
  const emulator = new CytonEmulator({ path: pair.devicePath, timers, seed: 3, daisyFitted });
  await emulator.start();
  const port = await new SerialBinding().open({ path: pair.hostPath, baudRate: 115200 });
  const host = new PortCollector(port);
  const events: CytonEvent[] = [];
  emulator.events$.subscribe((e) => events.push(e));
  return {
    emulator,
    timers,
    host,
    events,
    send: (text: string) => port.write(new TextEncoder().encode(text)),
    /** The next `$$$`-terminated reply. */
    async reply(): Promise<string> {
      for (;;) {
        const text = String.fromCharCode(...host.bytes);
        const end = text.indexOf('$$$');
        if (end >= 0) {
          host.bytes.splice(0, end + 3);
          return text.slice(0, end);
        }
        await host.waitForTotal(host.bytes.length + 1);
      }
    },
    async close() {
      await host.close();
      await emulator.close();
      await pair.close();
    },
  };
}

test('replies: banner (with the daisy when fitted), version, sample rate, board mode, defaults, daisy on/off', async () => {
  const r = await rig(true);
  try {
    await r.send('v');
    const banner = await r.reply();
    assert.match(banner, 'OpenBCI V3 8-16 channel');
    assert.match(banner, 'On Daisy ADS1299 Device ID: 0x3E');
    assert.match(banner, 'Firmware: v3.1.2');
    for (const [command, expected] of [
      ['V', 'v3.1.2'],
      ['~~', 'Sample rate is 250Hz'],
      ['//', 'Board mode is default'],
      ['D', '060110'],
      ['d', 'updating channel settings to default'],
      ['c', 'daisy removed'],
      ['c', 'no daisy to remove!'],
      ['C', 'daisy attached16'],
      ['<', 'Time stamp ON'],
      ['>', 'Time stamp OFF'],
      ['z101Z', 'Success: Lead off set for 1'],
    ]) {
      await r.send(command);
      assert.is(await r.reply(), expected, command);
    }
  } finally {
    await r.close();
  }
});

test('channel settings: success names the channel, a bad latch or a daisy channel without daisy fails', async () => {
  const r = await rig(false);
  try {
    await r.send('x3041100X');
    assert.is(await r.reply(), 'Success: Channel set for 3');
    assert.equal(r.emulator.channels[2], { powerDown: false, gainCode: 4, input: 1, bias: true, srb2: false, srb1: false });
    await r.send('x3041100Y');
    assert.is(await r.reply(), 'Failure: Err: 9th char not X');
    await r.send('xQ060110X');
    assert.match(await r.reply(), 'Failure');
    await r.send('C');
    assert.is(await r.reply(), 'no daisy to attach!8');
  } finally {
    await r.close();
  }
});

test('channel off/on characters; no text while streaming; packets paced by the clock', async () => {
  const r = await rig(false);
  try {
    await r.send('2');
    await until(() => r.emulator.channels[1].powerDown, 'channel 2 off');
    await r.send('b');
    await until(() => r.emulator.streaming, 'streaming');
    r.timers.advanceMs(100);
    const packets = () => r.events.filter((e) => e.type === 'packet') as Array<Extract<CytonEvent, { type: 'packet' }>>;
    assert.is(packets().length, 26, 'packets at 0, 4, …, 100 ms');
    assert.ok(packets().every((p) => p.counts[1] === 0), 'a powered-down channel reads 0');
    assert.ok(packets().some((p) => p.counts[0] !== 0));
    await r.host.waitForTotal(26 * 33);
    await r.send('V'); // the firmware prints nothing while streaming
    await r.send('@');
    await until(() => !r.emulator.channels[1].powerDown, 'channel 2 on');
    await r.send('s');
    await until(() => !r.emulator.streaming, 'stopped');
    assert.is(r.host.bytes.length, 26 * 33, 'no text among the packets');
    r.timers.advanceMs(1000);
    assert.is(packets().length, 26, 'nothing after s');
  } finally {
    await r.close();
  }
});

test.run();
