import { z } from 'zod';
import { MODEL_PATTERN } from '../limits/plans';
import { HttpError } from '../http/errors';

export const LIMITS = {
  messages: 200,
  contentChars: 100_000,
  totalChars: 400_000,
  parts: 50,
} as const;

export const text = z.string().min(1, 'must not be empty').max(LIMITS.contentChars, `must be at most ${LIMITS.contentChars} characters`);

/** The pieces both faces validate the same way. */
export const fields = {
  content: z.union([
    text,
    z
      .array(z.strictObject({ type: z.literal('text'), text }))
      .min(1)
      .max(LIMITS.parts),
  ]),
  name: z
    .string()
    .regex(/^[\w-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
    .optional(),
  max_cost_per_call: z.number().positive('must be a positive number of USD').optional(),
  stream: z.boolean().optional(),
  model: z.string().regex(MODEL_PATTERN, 'must be a model name such as gpt-4o-mini').optional(),
  max_tokens: z.int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
};

export function messageList<T extends z.ZodType>(message: T) {
  return z.array(message).min(1, 'must hold at least one message').max(LIMITS.messages, `must hold at most ${LIMITS.messages} messages`);
}

const message = z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content: fields.content, name: fields.name });

const chatRequest = z
  .strictObject({
    messages: messageList(message).optional(),
    message: text.optional(),
    max_cost_per_call: fields.max_cost_per_call,
    stream: fields.stream,
    model: fields.model,
    max_tokens: fields.max_tokens,
    temperature: fields.temperature,
    top_p: fields.top_p,
  })
  .refine((body) => (body.messages === undefined) !== (body.message === undefined), {
    error: 'give either "messages" or "message", not both and not neither',
  });

export type ChatMessage = z.infer<typeof message>;
/** A chat call as both faces (ours and the OpenAI-compatible one) hand it on: validated, one shape. */
export type ChatRequest = Omit<z.infer<typeof chatRequest>, 'message' | 'messages'> & {
  messages: ChatMessage[];
  /** The caller asked for a stream's usage chunk (OpenAI's stream_options.include_usage). */
  wantsUsage?: boolean;
};

/** Validates a parsed body; the 400 names the first offending field. */
export function parseChatRequest(body: unknown): ChatRequest {
  requireObject(body);
  const result = chatRequest.safeParse(body);
  if (!result.success) throw new HttpError(400, 'invalid_request', describeIssue(result.error.issues[0]));
  const { message: shorthand, messages: given, ...options } = result.data;
  const messages = given ?? [{ role: 'user' as const, content: shorthand ?? '' }];
  checkTotalLength(messages);
  return { ...options, messages };
}

export function requireObject(body: unknown): asserts body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request', 'The body must be a JSON object.');
  }
}

export function checkTotalLength(messages: readonly ChatMessage[]): void {
  const total = messages.reduce(
    (sum, m) => sum + (typeof m.content === 'string' ? m.content.length : m.content.reduce((s, p) => s + p.text.length, 0)),
    0,
  );
  if (total > LIMITS.totalChars) {
    throw new HttpError(400, 'invalid_request', `The messages hold more than ${LIMITS.totalChars} characters in all.`);
  }
}

export function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'The body is not valid.';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? '' : ` in "${path}"`;
    return `Unknown field${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.map((k) => `"${k}"`).join(', ')}.`;
  }
  return path === '' ? `The body is not valid: ${issue.message}.` : `Field "${path}": ${issue.message}.`;
}
