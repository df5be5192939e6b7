import type { KeyAlgorithm } from "./bindings/KeyAlgorithm";
import type { KeyView } from "./bindings/KeyView";
import { KEY_FILE_EXTENSIONS } from "./api";

/** "1137E72E…03B2" → "1137 E72E 6816 BFC0 6D9C AA0D 15F3 F4F4 F14B 03B2". */
export function formatFingerprint(fingerprint: string): string {
  return (fingerprint.toUpperCase().match(/.{1,4}/g) ?? []).join(" ");
}

/** The last eight hex digits, grouped: what people compare at a glance ("F14B 03B2"). */
export function shortFingerprint(fingerprint: string): string {
  return formatFingerprint(fingerprint.slice(-8));
}

/** The primary user id ("Ana Example (work) <ana@example.org>"), or null when there is none. */
export function primaryUserId(key: KeyView): string | null {
  return key.userIds.find((u) => u.trim() !== "") ?? null;
}

/** "Ana Example (work) <ana@example.org>" → name part and "<ana@example.org>". */
export function splitUserId(uid: string): { name: string; email: string } {
  const m = /^(.*?)\s*(<[^<>]*>)$/.exec(uid.trim());
  return m ? { name: m[1], email: m[2] } : { name: uid, email: "" };
}

/** What to call a key in sentences and dialogs: its user id, else its short fingerprint. */
export function keyLabel(key: KeyView): string {
  return primaryUserId(key) ?? `key ${shortFingerprint(key.fingerprint)}`;
}

/** Unix seconds, now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function isExpired(key: KeyView, now = nowSeconds()): boolean {
  return key.expires !== null && key.expires <= now;
}

/** Keys that can sign an image: the secret is here and the key may sign. */
export function signingKeys(keys: readonly KeyView[]): KeyView[] {
  return keys.filter((k) => k.hasSecret && k.canSign);
}

export function isKeyFile(path: string): boolean {
  const dot = path.lastIndexOf(".");
  if (dot < 0 || dot < Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))) return false;
  const ext = path.slice(dot + 1).toLowerCase();
  return (KEY_FILE_EXTENSIONS as readonly string[]).includes(ext);
}

export const KEY_ALGORITHMS: readonly { value: KeyAlgorithm; label: string }[] = [
  { value: "rsa4096", label: "RSA 4096 (what Apptainer makes)" },
  { value: "rsa3072", label: "RSA 3072" },
  { value: "ed25519", label: "Ed25519" },
];

/** What the new-key dialog says while the key is being made. */
export function generatingNote(algorithm: KeyAlgorithm): string {
  switch (algorithm) {
    case "rsa4096":
      return "Generating a 4096-bit RSA key can take a while";
    case "rsa3072":
      return "Generating a 3072-bit RSA key can take a while";
    case "ed25519":
      return "Generating the key…";
  }
}

/** Loose check: something@something, no spaces. The backend has the last word. */
export function looksLikeEmail(value: string): boolean {
  return /^[^\s@<>]+@[^\s@<>]+$/.test(value.trim());
}
