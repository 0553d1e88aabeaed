import type { Command } from '../command.js';
import { validateCommand } from './validate.js';
import { optotagCommand } from './optotag.js';
import { trainCommand } from './train.js';

/** Every CLI command, in the order `optoloop --help` lists them. */
export const commands: readonly Command[] = [validateCommand, optotagCommand, trainCommand];
