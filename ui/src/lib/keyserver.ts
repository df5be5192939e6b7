import { KEYSERVER_ERROR } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { KeyHitView } from "./bindings/KeyHitView";
import type { KeyView } from "./bindings/KeyView";
import { formatFingerprint, nowSeconds } from "./keys";

/** "RSA" and 4096 → "RSA 4096"; a name that already carries the size stays as it is. */
export function hitAlgorithm(hit: Pick<KeyHitView, "algorithm" | "bits">): string {
  const name = hit.algorithm.trim();
  if (hit.bits === null || hit.bits <= 0) return name || "—";
  if (!name) return `${hit.bits} bits`;
  return name.includes(String(hit.bits)) ? name : `${name} ${hit.bits}`;
}

export type HitStatus = "revoked" | "expired" | null;

/**
 * The server's flag covers revoked, disabled and expired keys alike; an expiry in the past
 * says which it is.
 */
export function hitStatus(hit: Pick<KeyHitView, "revoked" | "expires">, now = nowSeconds()): HitStatus {
  if (hit.expires !== null && hit.expires <= now) return "expired";
  return hit.revoked ? "revoked" : null;
}

/** What to call a hit in sentences: its first user id, else its short fingerprint. */
export function hitLabel(hit: Pick<KeyHitView, "userIds" | "fingerprint">): string {
  const uid = hit.userIds.find((u) => u.trim() !== "");
  return uid ?? `key ${formatFingerprint(hit.fingerprint.slice(-8))}`;
}

/** The servers a search goes to, for a sentence: "https://a.example or https://b.example". */
export function serversPhrase(servers: readonly string[]): string {
  if (servers.length === 0) return "your keyservers";
  const names = [...servers];
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** One URL a line; blank lines and surrounding spaces do not count. */
export function parseKeyserverLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/**
 * A keyserver's answer to an upload, fit for one line of a message: tags dropped,
 * whitespace collapsed, cut at `max` characters. Empty when there is nothing to say.
 */
export function responseLine(text: string | null, max = 200): string {
  if (text === null) return "";
  const plain = text
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1).trimEnd()}…` : plain;
}

/**
 * Whether the keyring already holds the key of a hit. Some servers give only the long key
 * id, so a fingerprint that ends with it counts.
 */
export function inLocalKeyring(hit: Pick<KeyHitView, "fingerprint" | "inKeyring">, keys: readonly KeyView[]): boolean {
  if (hit.inKeyring) return true;
  const wanted = hit.fingerprint.toUpperCase();
  return keys.some((k) => !k.global && k.fingerprint.toUpperCase().endsWith(wanted));
}

/** The backend's error, with what to do next when it did not say. */
export function withKeyserverHint(error: ApiError): ApiError {
  if (error.hint) return error;
  let hint: string | null = null;
  switch (error.code) {
    case KEYSERVER_ERROR.unreachable:
      hint = "Check the address or your network.";
      break;
    case KEYSERVER_ERROR.unauthorized:
      hint = "This keyserver wants you to log in. Use another keyserver, or log in to it.";
      break;
    case KEYSERVER_ERROR.invalidUrl:
      hint = "Use an address like https://keys.openpgp.org.";
      break;
    case KEYSERVER_ERROR.insecureUrl:
      hint = "Use https://; plain http is only allowed for a keyserver on this computer.";
      break;
    case KEYSERVER_ERROR.secretKeyRefused:
      hint = "Only public keys are published; your secret key stays on this computer.";
      break;
  }
  return { ...error, hint };
}

/** Errors that a different keyserver address could fix. */
export function isAddressProblem(error: ApiError): boolean {
  return (
    error.code === KEYSERVER_ERROR.unreachable ||
    error.code === KEYSERVER_ERROR.invalidUrl ||
    error.code === KEYSERVER_ERROR.insecureUrl
  );
}
