/** Architectures the library search can filter on. */
export const LIBRARY_ARCHES = ["amd64", "arm64", "ppc64le", "s390x", "riscv64"] as const;

/** Architectures a pull or push can name (blank in the forms: this machine's, or the image's own). */
export const TRANSFER_ARCHES = ["amd64", "arm64", "ppc64le", "s390x", "386"] as const;

/** `sha256.0123456789abcdef…` → `sha256.0123456789ab`, enough to tell images apart. */
export function shortHash(hash: string): string {
  const dot = hash.indexOf(".");
  const prefix = dot >= 0 ? hash.slice(0, dot + 1) : "";
  const hex = dot >= 0 ? hash.slice(dot + 1) : hash;
  return hex.length > 12 ? `${prefix}${hex.slice(0, 12)}` : hash;
}
