import { rigConfigSchema } from '../config/rig-config.js';
import { commands } from './commands/index.js';
import { mainHelp } from './main.js';

/** docs/cli/<name>.md for every command, plus index.md: the pages the README links to. */
export function renderCliPages(): Map<string, string> {
  const pages = new Map<string, string>();
  const note = '<!-- Generated from the command\'s --help text by `npm run docs`; edit the help text, not this file. -->\n';
  pages.set('index', `${note}# optoloop\n\n\`\`\`\n${mainHelp()}\n\`\`\`\n\n${commands.map((c) => `- [optoloop ${c.name}](${c.name}.md): ${c.summary}`).join('\n')}\n`);
  for (const c of commands) pages.set(c.name, `${note}# optoloop ${c.name}\n\n${c.summary}.\n\n\`\`\`\n${c.help}\n\`\`\`\n`);
  return pages;
}

export function renderConfigSchema(): string {
  return `${JSON.stringify(
    { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'optoloop rig config', ...rigConfigSchema.jsonSchema() },
    null,
    2,
  )}\n`;
}
