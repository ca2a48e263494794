import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The README's runnable snippets: a code block right after a `<!-- snippet: NAME -->` line.
 * Tests run them as written, with the README's placeholder URLs swapped for their own.
 */
export function readmeSnippet(name: string): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const marker = `<!-- snippet: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at === -1) throw new Error(`README.md has no snippet "${name}"`);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at + marker.length));
  if (block?.[1] === undefined) throw new Error(`README.md's snippet "${name}" has no code block`);
  return block[1];
}
