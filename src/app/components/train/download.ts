// Saves bytes as a file through a temporary link: the browser's own download, nothing leaves the device.

export function downloadBytes(name: string, bytes: Uint8Array | string, type: string): void {
  const part = typeof bytes === 'string' ? bytes : new Uint8Array(bytes);
  const url = URL.createObjectURL(new Blob([part], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
