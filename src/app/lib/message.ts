// What the UI shows for a caught error: its message (the errors thrown here say what to do), or the value itself.
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
