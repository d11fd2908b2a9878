/**
 * Byte counts as people read them, one way everywhere (summaries, progress, limits, archive
 * errors): binary units, whole numbers without decimals ("1 MiB" for a limit), one decimal below
 * ten ("1.5 KiB"), none above ("213 MiB").
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) || value >= 10 ? String(Math.round(value)) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}
