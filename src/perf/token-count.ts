import type * as Gpt4o from 'gpt-tokenizer/model/gpt-4o';
import type { PerfChatBody } from './client';

/*
 * Token counts with a real tokenizer: gpt-tokenizer's o200k_base, the encoding of OpenAI's GPT-4o
 * family, and OpenAI's chat format for the prompt (a few tokens per message around the text).
 * For other providers' models the count is close, not exact: STREAM_COST_MARGIN covers that.
 *
 * The encoding's tables take ~150 ms and ~70 MB to load, so they are loaded on first use (the
 * process preloads them at start: see preloadTokenizer) rather than by every importer.
 */

type Tokenizer = typeof Gpt4o;
let loaded: Tokenizer | undefined;

function tokenizer(): Tokenizer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('gpt-tokenizer/model/gpt-4o') as Tokenizer;
  return loaded;
}

export function preloadTokenizer(): void {
  tokenizer().countTokens('');
}

/** The prompt as the model reads it: every message, with the chat format's own tokens. */
export function countPromptTokens(messages: PerfChatBody['messages']): number {
  return tokenizer().countTokens(
    messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
      ...(m.name === undefined ? {} : { name: m.name }),
    })),
  );
}

export function countTextTokens(text: string): number {
  return tokenizer().countTokens(text);
}
