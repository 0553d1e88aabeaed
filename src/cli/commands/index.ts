import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { replayCommand } from './replay.js';
import { detectCommand } from './detect.js';
import { simCommand } from './sim.js';
import { validateCommand } from './validate.js';
import { optotagCommand } from './optotag.js';
import { fitDecoderCommand } from './fit-decoder.js';
import { trainCommand } from './train.js';
import { classifyCommand } from './classify.js';

/** Every CLI command, in the order `optoloop --help` lists them. */
export const commands: readonly Command[] = [runCommand, replayCommand, detectCommand, validateCommand, simCommand, optotagCommand, fitDecoderCommand, trainCommand, classifyCommand];
