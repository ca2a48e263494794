import type { Budget, Window } from '../limits/admission';

/**
 * The windows and budgets of one subject (a user, a guest, a guest's address, a pool), each with
 * its place in the caller's lists: on a cluster, what one step may touch (keys.ts, `{u:<id>}`).
 */
export interface Subject {
  id: string;
  windows: { at: number; window: Window }[];
  budgets: { at: number; budget: Budget }[];
}

/** Groups by id, in the order the ids first appear (the caller's own first). */
export function bySubject(windows: readonly Window[], budgets: readonly Budget[]): Subject[] {
  const subjects = new Map<string, Subject>();
  const of = (id: string): Subject => {
    let subject = subjects.get(id);
    if (subject === undefined) {
      subject = { id, windows: [], budgets: [] };
      subjects.set(id, subject);
    }
    return subject;
  };
  windows.forEach((window, at) => of(window.id).windows.push({ at, window }));
  budgets.forEach((budget, at) => of(budget.id).budgets.push({ at, budget }));
  return [...subjects.values()];
}
