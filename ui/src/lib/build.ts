/**
 * The Build page's logic without the page: templates, where the parser's findings sit in
 * the editor's text, which builder to offer, the request a build sends, and the build log
 * as it grows from a snapshot and live events.
 */
import type { BuilderView } from "./bindings/BuilderView";
import type { BuildLogEvent } from "./bindings/BuildLogEvent";
import type { BuildLogView } from "./bindings/BuildLogView";
import type { BuildRequest } from "./bindings/BuildRequest";
import type { DefinitionCheckView } from "./bindings/DefinitionCheckView";
import type { DefinitionIssueView } from "./bindings/DefinitionIssueView";
import { baseName } from "./format";

// ---- templates -------------------------------------------------------------------------

export type TemplateId = "docker" | "library" | "scratch";

export type Template = { id: TemplateId; label: string; description: string; text: string };

export const TEMPLATES: readonly Template[] = [
  {
    id: "docker",
    label: "Docker base",
    description: "Start from an image on Docker Hub and install software in %post (needs a build service).",
    text: `Bootstrap: docker
From: ubuntu:24.04

%post
    # Runs inside the image while it is built.
    apt-get update
    apt-get install -y --no-install-recommends curl ca-certificates
    rm -rf /var/lib/apt/lists/*

%environment
    export LC_ALL=C

%runscript
    exec "$@"

%labels
    Author you@example.org
    Version 1.0

%help
    An Ubuntu 24.04 image with curl.
    Run a command in it: apptainer run image.sif curl --version
`,
  },
  {
    id: "library",
    label: "Library base",
    description: "Start from an image in a Sylabs library and add your own steps.",
    text: `Bootstrap: library
From: library/default/alpine:3.19

%post
    # Runs inside the image while it is built.
    apk add --no-cache bash

%environment
    export LC_ALL=C

%runscript
    exec /bin/bash "$@"

%labels
    Author you@example.org
    Version 1.0

%help
    Alpine Linux 3.19 from the library, with bash.
`,
  },
  {
    id: "scratch",
    label: "Scratch",
    description: "An empty image filled from files on this computer; Berth builds it itself.",
    text: `# A scratch image starts empty: everything in it comes from %files.
# Nothing runs while it is built, so Berth builds it on this computer.
Bootstrap: scratch

%files
    # <file on this computer, relative to this definition> <path in the image>
    hello /usr/local/bin/hello

%environment
    export LC_ALL=C

%runscript
    exec /usr/local/bin/hello "$@"

%labels
    Author you@example.org
    Version 1.0

%help
    One static program, "hello", copied from the folder of this definition file.
`,
  },
];

export function templateText(id: TemplateId): string {
  const found = TEMPLATES.find((t) => t.id === id);
  if (!found) throw new Error(`no template ${id}`);
  return found.text;
}

// ---- files -----------------------------------------------------------------------------

/** A definition file by its name (drops carry paths only). */
export function isDefinitionPath(path: string): boolean {
  return /\.def$/i.test(path);
}

/** The SIF a build writes when no destination is given: `<definition stem>.sif`, `image.sif` unsaved. */
export function defaultOutputName(definitionPath: string | null): string {
  if (definitionPath === null || definitionPath.trim() === "") return "image.sif";
  const name = baseName(definitionPath);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return `${stem === "" ? "image" : stem}.sif`;
}

/** `folder` joined with `name`, with the separator the folder already uses. */
export function joinPath(folder: string, name: string): string {
  const windows = folder.includes("\\") && !folder.includes("/");
  const sep = windows ? "\\" : "/";
  return folder.endsWith(sep) ? `${folder}${name}` : `${folder}${sep}${name}`;
}

// ---- findings in the editor ------------------------------------------------------------

export type Severity = "error" | "warning";

/** A parser finding placed in the text: `from`/`to` are offsets as the editor counts them. */
export type EditorIssue = {
  from: number;
  to: number;
  line: number;
  column: number;
  severity: Severity;
  code: string;
  message: string;
  hint: string | null;
};

/** The editor's lines: any of \n, \r\n and \r ends one, and counts as one position. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** UTF-16 offset of the `column`-th character (1-based, in code points) of `line`, clamped to its end. */
function columnOffset(line: string, column: number): number {
  let offset = 0;
  let seen = 1;
  for (const ch of line) {
    if (seen >= column) break;
    offset += ch.length;
    seen++;
  }
  return offset;
}

/**
 * Where a finding at 1-based `line`/`column` sits: from its position to the end of the word
 * there (to the end of the line when it points at blanks). Positions past the text are
 * clamped to its end.
 */
export function issueRange(text: string, line: number, column: number): { from: number; to: number } {
  const lines = splitLines(text);
  const index = Math.min(Math.max(line, 1), lines.length) - 1;
  let start = 0;
  for (let i = 0; i < index; i++) start += lines[i].length + 1;
  const content = lines[index];
  if (line > lines.length) return { from: start + content.length, to: start + content.length };
  const at = columnOffset(content, Math.max(column, 1));
  const rest = content.slice(at);
  const word = /^\S+/.exec(rest)?.[0].length ?? 0;
  return { from: start + at, to: start + at + (word > 0 ? word : rest.length) };
}

function placed(text: string, issue: DefinitionIssueView, severity: Severity): EditorIssue {
  return { ...issueRange(text, issue.line, issue.column), ...issue, severity };
}

/** The errors and warnings of a check of `text`, in the order of the text. */
export function editorIssues(text: string, check: DefinitionCheckView): EditorIssue[] {
  return [
    ...check.errors.map((i) => placed(text, i, "error")),
    ...check.warnings.map((i) => placed(text, i, "warning")),
  ].sort((a, b) => a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

// ---- builders --------------------------------------------------------------------------

/** Architectures a build can target (blank in the form: this machine's). */
export const BUILD_ARCHES = ["amd64", "arm64", "ppc64le", "s390x"] as const;

/** The builder select's values: this computer, or a remote's build service. */
export type BuilderChoice = "local" | `remote:${string}`;

export const LOCAL: BuilderChoice = "local";

export function remoteChoice(name: string): BuilderChoice {
  return `remote:${name}`;
}

/** The remote a choice names; null for this computer. */
export function remoteOf(choice: BuilderChoice): string | null {
  return choice === "local" ? null : choice.slice("remote:".length);
}

/** Remotes that advertise a build service, the default one first. */
export function usableBuilders(builders: BuilderView[]): BuilderView[] {
  return builders.filter((b) => b.url !== null).sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
}

/**
 * The builder to preselect: this computer when it can build the definition (nothing to
 * upload, no account needed), else the default remote's build service, else any.
 */
export function suggestedBuilder(check: DefinitionCheckView | null, builders: BuilderView[]): BuilderChoice {
  if (check?.localBuildable) return LOCAL;
  const remote = usableBuilders(builders)[0];
  return remote ? remoteChoice(remote.remote) : LOCAL;
}

/**
 * Why Build cannot start now, in words, or null when it can. `builders` is null while they
 * are being read.
 */
export function buildBlocker(
  check: DefinitionCheckView | null,
  choice: BuilderChoice,
  builders: BuilderView[] | null,
): string | null {
  if (check === null) return "Checking the definition…";
  if (check.errors.length > 0) {
    return check.errors.length === 1 ? "Fix the error in the definition first." : `Fix the ${check.errors.length} errors in the definition first.`;
  }
  const remote = remoteOf(choice);
  if (remote === null) {
    return check.localBuildable ? null : (check.localReason ?? "This computer cannot build this definition.");
  }
  const builder = builders?.find((b) => b.remote === remote);
  if (builders === null) return "Looking for build services…";
  if (!builder || builder.url === null) return `${remote} has no build service.`;
  if (!builder.loggedIn) return `Log in to ${remote} first: its build service refuses anonymous builds.`;
  return null;
}

/**
 * What to do before building an unsaved definition whose `%files` copies relative paths:
 * they are read from the definition's folder, which it has only once saved (the backend
 * refuses the build until then).
 */
export function saveFirstAdvice(check: DefinitionCheckView | null, saved: boolean): string | null {
  if (saved || check === null || check.relativeFilesLine === null) return null;
  return `Save the definition beside the files it copies: %files on line ${check.relativeFilesLine} names a path relative to the definition's folder.`;
}

export type BuildForm = {
  text: string;
  path: string | null;
  choice: BuilderChoice;
  /** "" is this machine's. */
  arch: string;
  /** "" is the default (the pull folder). */
  destination: string;
  libraryRef: string;
  detached: boolean;
  force: boolean;
  /** `NAME=VALUE` per line, for the definition's `{{ NAME }}` placeholders. */
  buildArgs: string;
};

const orNull = (s: string): string | null => (s.trim() === "" ? null : s.trim());

/** What Build sends. Remote-only settings are left out of a local build. */
export function buildRequest(form: BuildForm): BuildRequest {
  const remote = remoteOf(form.choice);
  return {
    definition: form.text,
    definitionPath: form.path,
    mode: remote === null ? "local" : "remote",
    remote,
    builderUrl: null,
    arch: orNull(form.arch),
    destination: orNull(form.destination),
    libraryRef: remote === null ? null : orNull(form.libraryRef),
    detached: remote !== null && form.detached,
    force: form.force,
    attach: null,
    buildArgs: buildArgLines(form.buildArgs),
  };
}

/** The non-blank lines of the Build arguments field. */
export function buildArgLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** Follow a build already submitted to `remote`'s builder, writing to `destination`. */
export function attachRequest(
  buildId: string,
  remote: string | null,
  destination: string | null,
  definition: { text: string; path: string | null },
): BuildRequest {
  return {
    definition: definition.text,
    definitionPath: definition.path,
    mode: "remote",
    remote,
    builderUrl: null,
    arch: null,
    destination,
    libraryRef: null,
    detached: false,
    force: false,
    attach: buildId,
    buildArgs: [],
  };
}

// ---- the log ---------------------------------------------------------------------------

/** Lines the console keeps; older ones are dropped (the backend keeps as many). */
export const LOG_KEEP = 10_000;

/**
 * A build's log as the page shows it. Lines arrive two ways: a snapshot (`build_log`, for a
 * build already under way) and events, each numbered by its place in the whole log. Events
 * that arrive before the snapshot wait in `pending`; after it, `next` is the number of the
 * line expected next, so a line is never shown twice.
 */
export type BuildLogState = {
  jobId: string;
  lines: string[];
  /** The place of the next line in the whole log; null while not known (a capped snapshot, nothing since). */
  next: number | null;
  /** Older lines are not shown (the log was capped). */
  truncated: boolean;
  /** Events received before the snapshot; null once it is here. */
  pending: BuildLogEvent[] | null;
};

/** A log waiting for its snapshot. */
export function waitingLog(jobId: string): BuildLogState {
  return { jobId, lines: [], next: null, truncated: false, pending: [] };
}

const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
/** Colour and cursor sequences of terminal output (CSI and OSC), which the console does not interpret. */
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)`, "g");

export function stripAnsi(line: string): string {
  return line.replace(ANSI, "");
}

function capped(state: BuildLogState): BuildLogState {
  if (state.lines.length <= LOG_KEEP) return state;
  return { ...state, lines: state.lines.slice(-LOG_KEEP), truncated: true };
}

/** Add an event's lines, leaving out those already shown. */
export function withLogEvent(state: BuildLogState, event: BuildLogEvent): BuildLogState {
  if (event.jobId !== state.jobId) return state;
  if (state.pending !== null) return { ...state, pending: [...state.pending, event] };
  // After a capped snapshot the first event tells where the log stands.
  const next = state.next ?? event.index;
  const skip = Math.max(0, next - event.index);
  if (skip >= event.lines.length) return state;
  const fresh = event.lines.slice(skip).map(stripAnsi);
  return capped({ ...state, lines: [...state.lines, ...fresh], next: Math.max(next, event.index + event.lines.length) });
}

/** Take the snapshot, then the events that waited for it. */
export function withLogSnapshot(state: BuildLogState, view: BuildLogView): BuildLogState {
  if (view.jobId !== state.jobId) return state;
  const waiting = state.pending ?? [];
  let next: number | null = view.lines.length;
  if (view.truncated) {
    // The snapshot holds the newest lines without saying where they start; the events
    // that came before it were sent before it was read, so it holds them already.
    next = waiting.length > 0 ? Math.max(...waiting.map((e) => e.index + e.lines.length)) : null;
  }
  let merged: BuildLogState = {
    jobId: state.jobId,
    lines: view.lines.map(stripAnsi),
    next,
    truncated: view.truncated,
    pending: null,
  };
  for (const event of waiting) merged = withLogEvent(merged, event);
  return capped(merged);
}
