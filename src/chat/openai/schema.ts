import { z } from 'zod';
import { HttpError } from '../../http/errors';
import { checkTotalLength, describeIssue, fields, messageList, requireObject } from '../schema';
import type { ChatMessage, ChatRequest } from '../schema';

/**
 * OpenAI's chat-completions request, as far as Perf can honour it. Fields OpenAI defines that
 * Perf cannot honour are refused by name (never dropped silently), except where the value sent
 * is OpenAI's own default, so that clients which always send `n: 1` and the like keep working.
 */

const SUPPORTED = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'max_cost_per_call',
] as const;

/** OpenAI parameters accepted only at the value that changes nothing. */
const NEUTRAL: Readonly<Record<string, unknown>> = {
  n: 1,
  frequency_penalty: 0,
  presence_penalty: 0,
  logprobs: false,
  store: false,
  parallel_tool_calls: true,
};

const message = z.strictObject({
  // OpenAI's newer name for the system role.
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'must be system, developer, user or assistant (tools are not supported)',
  }),
  content: fields.content,
  name: fields.name,
});

const request = z.strictObject({
  model: z.string({ error: 'is required (use "auto" to let Perf choose)' }).pipe(fields.model.unwrap()),
  messages: messageList(message),
  stream: z.boolean().nullable().optional(),
  // The usage chunk Perf sends is relayed only to a caller who asked for it; never refused, since SDKs send it by default.
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: fields.max_tokens.nullable(),
  max_completion_tokens: fields.max_tokens.nullable(),
  temperature: fields.temperature.nullable(),
  top_p: fields.top_p.nullable(),
  max_cost_per_call: fields.max_cost_per_call,
});

/** Validates an OpenAI chat-completions body into the chat call both faces share. */
export function parseOpenAiRequest(body: unknown): ChatRequest {
  requireObject(body);
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if ((SUPPORTED as readonly string[]).includes(key)) {
      given[key] = value;
    } else if (key in NEUTRAL) {
      if (value !== null && value !== NEUTRAL[key]) throw unsupported(key, `only ${JSON.stringify(NEUTRAL[key])} is supported`);
    } else {
      throw unsupported(key, 'Perf does not support it');
    }
  }
  const result = request.safeParse(given);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HttpError(400, 'invalid_request', describeIssue(issue), undefined, issue?.path.map(String).join('.') || undefined);
  }
  const r = result.data;
  const maxTokens = r.max_completion_tokens ?? r.max_tokens;
  const messages: ChatMessage[] = r.messages.map((m) => ({ ...m, role: m.role === 'developer' ? 'system' : m.role }));
  checkTotalLength(messages);
  // "auto" (Perf picks) is resolved with every other name by the model policy.
  const call: ChatRequest = { messages, stream: r.stream === true, model: r.model };
  if (maxTokens !== null && maxTokens !== undefined) call.max_tokens = maxTokens;
  if (r.temperature !== null && r.temperature !== undefined) call.temperature = r.temperature;
  if (r.top_p !== null && r.top_p !== undefined) call.top_p = r.top_p;
  if (r.max_cost_per_call !== undefined) call.max_cost_per_call = r.max_cost_per_call;
  if (r.stream_options?.include_usage === true) call.wantsUsage = true;
  return call;
}

function unsupported(param: string, why: string): HttpError {
  return new HttpError(
    400,
    'invalid_request',
    `Unsupported parameter: "${param}" (${why}). Supported: ${SUPPORTED.join(', ')}.`,
    undefined,
    param,
  );
}
