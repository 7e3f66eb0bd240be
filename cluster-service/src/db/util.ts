// Small helpers shared by the repositories.

export const nowIso = (): string => new Date().toISOString();

export const bool = (b: boolean | null | undefined): 0 | 1 => (b ? 1 : 0);

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Who is asking: what a query must be restricted to. */
export interface Scope {
  projectId: string | undefined;
  isAdmin: boolean;
}
