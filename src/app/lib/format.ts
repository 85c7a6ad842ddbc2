// Number formatting for the UI: bytes, parameter counts, rates.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** 260_000 -> "260K", 134_515_008 -> "134.5M". */
export function formatCount(count: number): string {
  if (count < 1e3) return String(count);
  if (count < 1e6) return `${+(count / 1e3).toFixed(1)}K`;
  if (count < 1e9) return `${+(count / 1e6).toFixed(1)}M`;
  return `${+(count / 1e9).toFixed(2)}B`;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}
