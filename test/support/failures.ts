/** The messages of a failure and its causes (Temporal wraps activity and child failures), joined with ": ". */
export function failureMessages(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) parts.push(e.message);
  return parts.join(': ');
}
