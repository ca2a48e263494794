/** What one of Perf's answers (a JSON completion or a stream chunk) says about the call. */
export interface AnswerFacts {
  costUsd?: number;
  modelUsed?: string;
  totalTokens?: number;
  /** `usage.prompt_tokens` and `usage.completion_tokens`, when both are given. */
  usage?: { input: number; output: number };
  /** A stream chunk's `choices[0].delta.content`. */
  deltaText?: string;
  /** A stream chunk with no choices at all: the usage chunk `stream_options.include_usage` asks for. */
  usageOnly?: boolean;
}

interface PerfShape {
  model?: unknown;
  choices?: unknown;
  perf?: { cost_usd?: unknown; model_used?: unknown };
  usage?: { total_tokens?: unknown; prompt_tokens?: unknown; completion_tokens?: unknown };
}

const count = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

/** Reads what matters for money and logs, keeping only well-formed values. */
export function answerFacts(parsed: unknown): AnswerFacts {
  const answer = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as PerfShape;
  const facts: AnswerFacts = {};
  const cost = answer.perf?.cost_usd;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) facts.costUsd = cost;
  // Perf names the model in `perf.model_used`; a stream's chunks carry it as `model`.
  const model = answer.perf?.model_used ?? answer.model;
  if (typeof model === 'string' && model !== '') facts.modelUsed = model;
  const usage = answer.usage;
  if (typeof usage?.total_tokens === 'number') facts.totalTokens = usage.total_tokens;
  if (count(usage?.prompt_tokens) && count(usage.completion_tokens))
    facts.usage = { input: usage.prompt_tokens, output: usage.completion_tokens };
  if (Array.isArray(answer.choices)) {
    if (answer.choices.length === 0) facts.usageOnly = true;
    const delta = (answer.choices[0] as { delta?: { content?: unknown } } | undefined)?.delta?.content;
    if (typeof delta === 'string') facts.deltaText = delta;
  }
  return facts;
}
