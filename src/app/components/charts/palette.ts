// Chart colours: series in a fixed order, and the three outcomes of an A/B comparison.

export const SERIES_COLORS = ['#3b5bdb', '#f08c00', '#2f9e44', '#ae3ec9', '#1098ad', '#e8590c', '#5c940d', '#c2255c'];

export const seriesColor = (i: number): string => SERIES_COLORS[i % SERIES_COLORS.length];

export const OUTCOME_COLORS = { a: '#3b5bdb', b: '#f08c00', tie: '#adb5bd' } as const;

/** Percent with two decimals, as the paper's pies print them. */
export const percent = (part: number, total: number): string => (total > 0 ? `${((100 * part) / total).toFixed(2)}%` : '–');
