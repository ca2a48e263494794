/**
 * The outer shape of the operator's JSON files (plans, prices): an object whose entries are then
 * checked one by one. `what` names the entries in the message when it is not an object.
 */
export function jsonObject(json: string, what: string): { raw: Record<string, unknown> } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { problem: `is not valid JSON (${(err as Error).message})` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: `must be a JSON object of ${what}` };
  return { raw: raw as Record<string, unknown> };
}
