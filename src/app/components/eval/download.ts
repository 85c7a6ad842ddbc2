// Saves text as a file through a temporary link: the browser's own download, nothing leaves the device.

export function downloadText(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** A file name from a run's name: letters, digits, dots, dashes. */
export function fileName(name: string, ext: string): string {
  return `${name.replace(/[^\p{L}\p{N}.-]+/gu, '-').replace(/^-+|-+$/g, '') || 'export'}.${ext}`;
}
