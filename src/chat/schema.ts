import { z } from 'zod';
import { HttpError } from '../http/errors';

export const LIMITS = {
  messages: 200,
  contentChars: 100_000,
  totalChars: 400_000,
  parts: 50,
} as const;

const text = z.string().min(1, 'must not be empty').max(LIMITS.contentChars, `must be at most ${LIMITS.contentChars} characters`);

const message = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([text, z.array(z.strictObject({ type: z.literal('text'), text })).min(1).max(LIMITS.parts)]),
  name: z.string().regex(/^[\w-]{1,64}$/, 'must be 1-64 letters, digits, _ or -').optional(),
});

const chatRequest = z
  .strictObject({
    messages: z.array(message).min(1, 'must hold at least one message').max(LIMITS.messages, `must hold at most ${LIMITS.messages} messages`).optional(),
    message: text.optional(),
    max_cost_per_call: z.number().positive('must be a positive number of USD').optional(),
    stream: z.boolean().optional(),
    model: z.string().regex(/^[\w.:/-]{1,100}$/, 'must be a model name such as gpt-4o-mini').optional(),
    max_tokens: z.int().min(1).max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().gt(0).max(1).optional(),
  })
  .refine((body) => (body.messages === undefined) !== (body.message === undefined), {
    error: 'give either "messages" or "message", not both and not neither',
  });

export type ChatRequest = z.infer<typeof chatRequest>;
export type ChatMessage = z.infer<typeof message>;

/** Validates a parsed body; the 400 names the first offending field. */
export function parseChatRequest(body: unknown): ChatRequest & { messages: ChatMessage[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request', 'The body must be a JSON object.');
  }
  const result = chatRequest.safeParse(body);
  if (!result.success) throw new HttpError(400, 'invalid_request', describeIssue(result.error.issues[0]));
  const messages = result.data.messages ?? [{ role: 'user' as const, content: result.data.message ?? '' }];
  const total = messages.reduce((sum, m) => sum + (typeof m.content === 'string' ? m.content.length : m.content.reduce((s, p) => s + p.text.length, 0)), 0);
  if (total > LIMITS.totalChars) {
    throw new HttpError(400, 'invalid_request', `The messages hold more than ${LIMITS.totalChars} characters in all.`);
  }
  return { ...result.data, messages };
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'The body is not valid.';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? '' : ` in "${path}"`;
    return `Unknown field${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.map((k) => `"${k}"`).join(', ')}.`;
  }
  return path === '' ? `The body is not valid: ${issue.message}.` : `Field "${path}": ${issue.message}.`;
}
