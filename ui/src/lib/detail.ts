import type { ApiError } from "./bindings/ApiError";
import type { ImageDetails } from "./bindings/ImageDetails";
import type { VerifyView } from "./bindings/VerifyView";

/** What the detail pane knows about the selected image. */
export type DetailState =
  | { status: "loading"; path: string }
  | { status: "ready"; path: string; data: ImageDetails }
  | { status: "error"; path: string; error: ApiError };

/** Verifying (or signing) the selected image, and what came of it. */
export type VerifyState =
  | { status: "running"; path: string }
  | { status: "done"; path: string; result: VerifyView; signed: boolean }
  | { status: "error"; path: string; error: ApiError };

/**
 * Getting a signer's key for a signature card: fetching it from the keyserver for one
 * check, or importing a fetched key into the keyring.
 */
export type KeyAction =
  | { kind: "fetch" | "import"; path: string; signatureId: number; status: "running" }
  | { kind: "fetch" | "import"; path: string; signatureId: number; status: "error"; error: ApiError };
