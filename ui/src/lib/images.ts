import type { LocalImage } from "./bindings/LocalImage";

export type SortKey = "name" | "size" | "arch" | "signed" | "modified";
export type SortDir = "asc" | "desc";

export const SORT_KEYS: readonly SortKey[] = ["name", "size", "arch", "signed", "modified"];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Compare two non-null values of the given column; missing values are handled by sortImages. */
function compareBy(key: SortKey, a: LocalImage, b: LocalImage): number {
  switch (key) {
    case "name":
      return collator.compare(a.name, b.name);
    case "size":
      return a.size - b.size;
    case "arch":
      return collator.compare(a.arch ?? "", b.arch ?? "");
    case "signed":
      return Number(a.signed) - Number(b.signed);
    case "modified":
      return (a.modified ?? 0) - (b.modified ?? 0);
  }
}

function isMissing(key: SortKey, img: LocalImage): boolean {
  return (key === "arch" && img.arch === null) || (key === "modified" && img.modified === null);
}

/**
 * Sorted copy. Rows without a value for the column (no arch, unknown date) go last in
 * both directions; ties fall back to name, then path, so the order is stable.
 */
export function sortImages(images: readonly LocalImage[], key: SortKey, dir: SortDir): LocalImage[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...images].sort((a, b) => {
    const ma = isMissing(key, a);
    const mb = isMissing(key, b);
    if (ma !== mb) return ma ? 1 : -1;
    const primary = ma ? 0 : compareBy(key, a, b) * sign;
    if (primary !== 0) return primary;
    return collator.compare(a.name, b.name) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  });
}

/** Case-insensitive match on name, path and architecture; every word must match. */
export function filterImages(images: readonly LocalImage[], query: string): LocalImage[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...images];
  return images.filter((img) => {
    const hay = `${img.name}\n${img.path}\n${img.arch ?? ""}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Natural first direction for a column: text A→Z, numbers and dates largest first. */
export function defaultDir(key: SortKey): SortDir {
  return key === "name" || key === "arch" ? "asc" : "desc";
}
