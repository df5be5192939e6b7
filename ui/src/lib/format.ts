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
