/** What one of Perf's answers (a JSON completion or a stream chunk) says about the call. */
export interface AnswerFacts {
  costUsd?: number;
  modelUsed?: string;
  totalTokens?: number;
}

interface PerfShape {
  perf?: { cost_usd?: unknown; model_used?: unknown };
  usage?: { total_tokens?: unknown };
}

/** Reads `perf.cost_usd`, `perf.model_used` and `usage.total_tokens`, keeping only well-formed values. */
export function answerFacts(parsed: unknown): AnswerFacts {
  const answer = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as PerfShape;
  const facts: AnswerFacts = {};
  const cost = answer.perf?.cost_usd;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) facts.costUsd = cost;
  if (typeof answer.perf?.model_used === 'string') facts.modelUsed = answer.perf.model_used;
  if (typeof answer.usage?.total_tokens === 'number') facts.totalTokens = answer.usage.total_tokens;
  return facts;
}
