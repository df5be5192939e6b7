import type { ObjectView } from "./bindings/ObjectView";
import type { SignatureScheme } from "./bindings/SignatureScheme";
import type { SignatureState } from "./bindings/SignatureState";
import type { VerifyView } from "./bindings/VerifyView";

/** success: all good; warning: intact but not trusted yet; danger: changed or broken. */
export type Tone = "success" | "warning" | "danger";

const STATES: Record<SignatureState, { label: string; tone: Tone }> = {
  valid: { label: "Valid", tone: "success" },
  unknownSigner: { label: "Unknown key", tone: "warning" },
  keyNotValid: { label: "Key not valid", tone: "warning" },
  noKeyMaterial: { label: "Cannot check", tone: "warning" },
  tampered: { label: "Tampered", tone: "danger" },
  invalid: { label: "Invalid", tone: "danger" },
};

export function stateLabel(state: SignatureState): string {
  return STATES[state].label;
}

export function stateTone(state: SignatureState): Tone {
  return STATES[state].tone;
}

/** Green when verified; red when something was changed or is broken; amber otherwise. */
export function verdictTone(view: VerifyView): Tone {
  if (view.verified) return "success";
  return view.signatures.some((s) => stateTone(s.state) === "danger") ? "danger" : "warning";
}

const SCHEMES: Record<SignatureScheme, string> = {
  pgp: "PGP",
  dsse: "DSSE",
  legacy: "Legacy",
};

export function schemeLabel(scheme: SignatureScheme): string {
  return SCHEMES[scheme];
}

export function keySourceLabel(source: string | null): string {
  if (source === "local") return "Local keyring";
  if (source === "global") return "Global keyring";
  if (source === "keyserver") return "Keyserver (fetched for this check, not imported)";
  if (source === null) return "Not in your keyrings";
  return source;
}

/** The objects a signature covers, with their types from the objects table. */
export function coveredObjects(ids: readonly number[], objects: readonly ObjectView[]): { id: number; type: string }[] {
  return ids.map((id) => ({ id, type: objects.find((o) => o.id === id)?.dataType ?? "unknown" }));
}
