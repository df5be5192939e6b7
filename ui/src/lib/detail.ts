import type { ApiError } from "./bindings/ApiError";
import type { ImageDetails } from "./bindings/ImageDetails";

/** What the detail pane knows about the selected image. */
export type DetailState =
  | { status: "loading"; path: string }
  | { status: "ready"; path: string; data: ImageDetails }
  | { status: "error"; path: string; error: ApiError };
