import type { ExtraField } from "./bindings/ExtraField";
import type { LinkView } from "./bindings/LinkView";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 792268 → "773.7 KiB"; bytes below 1 KiB stay exact ("512 B"). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 1023.96 KiB would print as "1024.0 KiB": move up a unit instead.
  if (Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Exact count with digit grouping, for offsets and byte counts. */
export function formatInteger(n: number): string {
  return Math.trunc(n).toLocaleString("en-US");
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function toDate(unixSeconds: number | null | undefined): Date | null {
  if (unixSeconds === null || unixSeconds === undefined || !Number.isFinite(unixSeconds)) {
    return null;
  }
  const d = new Date(unixSeconds * 1000);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Unix seconds → local "2024-05-21 14:03" (dense, sorts the way it reads). */
export function formatDateTime(unixSeconds: number | null | undefined): string {
  const d = toDate(unixSeconds);
  if (!d) return "—";
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** Unix seconds → local "2024-05-21 14:03:09 UTC+02:00", for detail views and tooltips. */
export function formatDateTimeLong(unixSeconds: number | null | undefined): string {
  const d = toDate(unixSeconds);
  if (!d) return "—";
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${formatDateTime(unixSeconds)}:${pad(d.getSeconds())} ` +
    `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** Unix seconds → ISO string for <time datetime>. */
export function isoDateTime(unixSeconds: number | null | undefined): string | undefined {
  const d = toDate(unixSeconds);
  return d ? d.toISOString() : undefined;
}

/** SIF descriptor link as siftool prints it: "NONE", "2" (an object) or "1 (G)" (a group). */
export function formatLink(link: LinkView | null): string {
  if (!link) return "NONE";
  return link.group ? `${link.id} (G)` : String(link.id);
}

export function formatGroup(group: number | null): string {
  return group === null ? "NONE" : String(group);
}

/** Object extras as "label: value", joined. */
export function formatExtras(extras: ExtraField[]): string {
  return extras.map((e) => `${e.label}: ${e.value}`).join(", ");
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Last path component, for either separator. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/** Bytes per second → "36.4 MiB/s"; nothing ("") while there is no rate to tell. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined) return "";
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "";
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds → "12 s", "3 min 5 s", "1 h 12 min": as precise as a person wants a wait to be. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? "" : ` ${s % 60} s`}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h${m % 60 === 0 ? "" : ` ${m % 60} min`}`;
}

/** Seconds left → "12 s left"; nothing ("") when unknown. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "";
  return `${formatDuration(seconds)} left`;
}

/** Whole percent done, rounded down so that 100 % means finished; null without a total. */
export function percentDone(done: number, total: number | null | undefined): number | null {
  if (total === null || total === undefined || !Number.isFinite(total) || total <= 0) return null;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/** "412.0 MiB of 1.2 GiB", or "412.0 MiB" when the total is unknown. */
export function formatProgress(done: number, total: number | null | undefined): string {
  if (total === null || total === undefined) return formatBytes(done);
  return `${formatBytes(done)} of ${formatBytes(total)}`;
}
