// Number formatting for the UI: parameter counts, rates (bytes: formatBytes in src/model/memory.ts, which the
// engine's memory errors use too).

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
