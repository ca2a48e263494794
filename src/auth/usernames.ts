export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Usernames are case-insensitive: "Alice" signs in as "alice". */
export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}
