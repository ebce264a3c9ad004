/** Numbers as the wizard writes them for people: sizes, parameter counts, metrics. */

export function bytesInWords(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function countInWords(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} billion`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} million`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} thousand`;
  return String(n);
}

/** A metric in [0, 1] as a percentage with one decimal. */
export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** The idle lock's delay in words: "15 minutes", "5 seconds". */
export function idleInWords(seconds: number): string {
  return seconds >= 60 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`;
}

/** A date and time as the wizard shows it: "27 Nov 2026, 23:10" (the workstation's time zone). */
export function dateInWords(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
