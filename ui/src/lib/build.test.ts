import { describe, expect, test } from "vitest";
import type { DefinitionCheckView } from "./bindings/DefinitionCheckView";
import {
  attachRequest,
  buildBlocker,
  buildRequest,
  defaultOutputName,
  editorIssues,
  isDefinitionPath,
  issueRange,
  joinPath,
  LOG_KEEP,
  saveFirstAdvice,
  remoteChoice,
  remoteOf,
  stripAnsi,
  suggestedBuilder,
  templateText,
  TEMPLATES,
  waitingLog,
  withLogEvent,
  withLogSnapshot,
  type BuildForm,
} from "./build";
import { builder } from "../test/fixtures";
import { fakeCheck } from "../test/backend";

function check(overrides: Partial<DefinitionCheckView> = {}): DefinitionCheckView {
  return {
    errors: [],
    warnings: [],
    bootstrap: "docker",
    from: "ubuntu:24.04",
    stages: 1,
    localBuildable: true,
    executingSections: [],
    localReason: null,
    relativeFilesLine: null,
    placeholders: [],
    ...overrides,
  };
}

describe("templates", () => {
  test("docker and library start from a base and run %post; scratch builds here, with every data section", () => {
    expect(TEMPLATES.map((t) => t.id)).toEqual(["docker", "library", "scratch"]);
    expect(templateText("docker")).toMatch(/^Bootstrap: docker\nFrom: ubuntu:24\.04\n/);
    expect(templateText("library")).toMatch(/^Bootstrap: library\nFrom: /m);
    const scratch = templateText("scratch");
    expect(scratch).toMatch(/^Bootstrap: scratch$/m);
    for (const section of ["%files", "%runscript", "%labels", "%environment", "%help"]) {
      expect(scratch).toContain(`\n${section}\n`);
    }
    expect(scratch).not.toMatch(/^%(post|setup|test)/m);
  });

  test("each template passes the stand-in parser; only scratch builds without a service", () => {
    expect(fakeCheck(templateText("docker"))).toMatchObject({ errors: [], localBuildable: false });
    expect(fakeCheck(templateText("library"))).toMatchObject({ errors: [], localBuildable: false });
    expect(fakeCheck(templateText("scratch"))).toMatchObject({ errors: [], localBuildable: true });
  });
});

describe("files", () => {
  test("definition files are told by their extension", () => {
    expect(isDefinitionPath("/a/b/ubuntu.def")).toBe(true);
    expect(isDefinitionPath("C:\\defs\\APP.DEF")).toBe(true);
    expect(isDefinitionPath("/a/b/ubuntu.sif")).toBe(false);
    expect(isDefinitionPath("/a/def")).toBe(false);
  });

  test("the default output is the definition's stem with .sif, image.sif when unsaved", () => {
    expect(defaultOutputName("/home/ana/defs/ubuntu.def")).toBe("ubuntu.sif");
    expect(defaultOutputName("/home/ana/defs/tool.v2.def")).toBe("tool.v2.sif");
    expect(defaultOutputName("/home/ana/defs/Singularity")).toBe("Singularity.sif");
    expect(defaultOutputName(null)).toBe("image.sif");
    expect(defaultOutputName("  ")).toBe("image.sif");
  });

  test("paths join with the folder's own separator", () => {
    expect(joinPath("/home/ana/pulled", "x.sif")).toBe("/home/ana/pulled/x.sif");
    expect(joinPath("/home/ana/pulled/", "x.sif")).toBe("/home/ana/pulled/x.sif");
    expect(joinPath("C:\\images", "x.sif")).toBe("C:\\images\\x.sif");
  });
});

describe("findings in the editor", () => {
  const text = "Bootstrap: docker\nFrom: ubuntu\n%bogus x\n";

  test("a finding covers the word at its line and column", () => {
    expect(issueRange(text, 1, 1)).toEqual({ from: 0, to: 10 });
    expect(issueRange(text, 2, 7)).toEqual({ from: 24, to: 30 });
    expect(text.slice(24, 30)).toBe("ubuntu");
    expect(issueRange(text, 3, 1)).toEqual({ from: 31, to: 37 });
  });

  test("columns count characters, not UTF-16 units", () => {
    const emoji = "%labels\n  note 😀😀 bad\n";
    const { from, to } = issueRange(emoji, 2, 11);
    expect(emoji.slice(from, to)).toBe("bad");
  });

  test("\\r\\n ends a line as one position, as the editor counts it", () => {
    const crlf = "Bootstrap: docker\r\nFrom: x\r\n";
    // The editor holds "Bootstrap: docker\nFrom: x\n".
    expect(issueRange(crlf, 2, 7)).toEqual({ from: 24, to: 25 });
  });

  test("blanks are covered to the end of the line; positions past the text are clamped", () => {
    expect(issueRange("a\n   \n", 2, 2)).toEqual({ from: 3, to: 5 });
    expect(issueRange("a\nb", 2, 10)).toEqual({ from: 3, to: 3 });
    expect(issueRange("a\nb", 9, 1)).toEqual({ from: 3, to: 3 });
  });

  test("errors and warnings come in the order of the text, errors first on a line", () => {
    const issues = editorIssues(
      text,
      check({
        errors: [{ line: 3, column: 1, code: "def.unknown_section", message: "unknown section %bogus", hint: "Use %post." }],
        warnings: [
          { line: 3, column: 1, code: "def.w", message: "w", hint: null },
          { line: 1, column: 1, code: "def.v", message: "v", hint: null },
        ],
      }),
    );
    expect(issues.map((i) => [i.line, i.severity, i.code])).toEqual([
      [1, "warning", "def.v"],
      [3, "error", "def.unknown_section"],
      [3, "warning", "def.w"],
    ]);
    expect(issues[1]).toMatchObject({ from: 31, to: 37, message: "unknown section %bogus", hint: "Use %post." });
  });
});

describe("builders", () => {
  const builders = [builder("site", { url: "https://b.site" }), builder("cloud", { isDefault: true }), builder("none", { url: null })];

  test("choices name this computer or a remote", () => {
    expect(remoteOf("local")).toBeNull();
    expect(remoteOf(remoteChoice("my:remote"))).toBe("my:remote");
  });

  test("this computer is suggested when it can build; else the default remote's service", () => {
    expect(suggestedBuilder(check(), builders)).toBe("local");
    expect(suggestedBuilder(check({ localBuildable: false }), builders)).toBe("remote:cloud");
    expect(suggestedBuilder(check({ localBuildable: false }), [builders[0]])).toBe("remote:site");
    expect(suggestedBuilder(check({ localBuildable: false }), [])).toBe("local");
    expect(suggestedBuilder(null, builders)).toBe("remote:cloud");
  });

  test("Build waits for the check, errors, a possible builder and a login", () => {
    expect(buildBlocker(null, "local", builders)).toBe("Checking the definition…");
    const broken = check({ errors: [{ line: 1, column: 1, code: "x", message: "m", hint: null }] });
    expect(buildBlocker(broken, "local", builders)).toBe("Fix the error in the definition first.");
    expect(buildBlocker({ ...broken, errors: [...broken.errors, ...broken.errors] }, "local", builders)).toBe(
      "Fix the 2 errors in the definition first.",
    );
    const needsService = check({ localBuildable: false, localReason: "%post runs commands inside the image while it is built." });
    expect(buildBlocker(needsService, "local", builders)).toBe("%post runs commands inside the image while it is built.");
    expect(buildBlocker(needsService, "remote:cloud", builders)).toBeNull();
    expect(buildBlocker(needsService, "remote:cloud", null)).toBe("Looking for build services…");
    expect(buildBlocker(needsService, "remote:none", builders)).toBe("none has no build service.");
    expect(buildBlocker(needsService, "remote:cloud", [builder("cloud", { loggedIn: false })])).toMatch(/^Log in to cloud first/);
    expect(buildBlocker(check(), "local", null)).toBeNull();
  });

  const form: BuildForm = {
    text: "Bootstrap: scratch\n",
    path: "/d/a.def",
    choice: "local",
    arch: "",
    destination: "  ",
    libraryRef: "library://ana/x/y:1",
    detached: true,
    force: false,
    buildArgs: "",
  };

  test("a local build leaves out what only a build service does", () => {
    expect(buildRequest(form)).toEqual({
      definition: "Bootstrap: scratch\n",
      definitionPath: "/d/a.def",
      mode: "local",
      remote: null,
      builderUrl: null,
      arch: null,
      destination: null,
      libraryRef: null,
      detached: false,
      force: false,
      attach: null,
      buildArgs: [],
    });
  });

  test("a remote build names its remote and carries arch, destination, library ref and detach", () => {
    expect(buildRequest({ ...form, choice: "remote:cloud", arch: "arm64", destination: " /out/x.sif " })).toEqual({
      definition: "Bootstrap: scratch\n",
      definitionPath: "/d/a.def",
      mode: "remote",
      remote: "cloud",
      builderUrl: null,
      arch: "arm64",
      destination: "/out/x.sif",
      libraryRef: "library://ana/x/y:1",
      detached: true,
      force: false,
      attach: null,
      buildArgs: [],
    });
  });

  test("build arguments are the field's non-blank lines", () => {
    expect(buildRequest({ ...form, buildArgs: " OS=alpine \n\n  VER=3.20\n" }).buildArgs).toEqual(["OS=alpine", "VER=3.20"]);
  });

  test("an attach follows the build id at the remote, writing where the build was meant to", () => {
    expect(attachRequest("b-1", "cloud", "/out/x.sif", { text: "t", path: null })).toMatchObject({
      mode: "remote",
      remote: "cloud",
      destination: "/out/x.sif",
      attach: "b-1",
      detached: false,
    });
  });
});

describe("the log", () => {
  test("events before the snapshot wait; those it holds already are not shown twice", () => {
    let log = waitingLog("j");
    log = withLogEvent(log, { jobId: "j", index: 2, lines: ["c"] });
    log = withLogEvent(log, { jobId: "j", index: 3, lines: ["d"] });
    expect(log.lines).toEqual([]);
    log = withLogSnapshot(log, { jobId: "j", lines: ["a", "b", "c"], truncated: false });
    expect(log.lines).toEqual(["a", "b", "c", "d"]);
    expect(log.next).toBe(4);
    log = withLogEvent(log, { jobId: "j", index: 3, lines: ["d", "e"] });
    log = withLogEvent(log, { jobId: "j", index: 5, lines: ["f"] });
    expect(log.lines).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  test("other jobs' lines and snapshots are ignored", () => {
    let log = withLogSnapshot(waitingLog("j"), { jobId: "j", lines: ["a"], truncated: false });
    log = withLogEvent(log, { jobId: "k", index: 1, lines: ["x"] });
    log = withLogSnapshot(log, { jobId: "k", lines: ["y"], truncated: false });
    expect(log.lines).toEqual(["a"]);
  });

  test("after a capped snapshot, the events tell where the log stands", () => {
    let log = withLogSnapshot(waitingLog("j"), { jobId: "j", lines: ["x998", "x999"], truncated: true });
    expect(log).toMatchObject({ next: null, truncated: true });
    log = withLogEvent(log, { jobId: "j", index: 1000, lines: ["x1000"] });
    log = withLogEvent(log, { jobId: "j", index: 1000, lines: ["x1000"] });
    expect(log.lines).toEqual(["x998", "x999", "x1000"]);

    let waited = withLogEvent(waitingLog("j"), { jobId: "j", index: 999, lines: ["x999"] });
    waited = withLogSnapshot(waited, { jobId: "j", lines: ["x998", "x999"], truncated: true });
    expect(waited.lines).toEqual(["x998", "x999"]);
    expect(waited.next).toBe(1000);
  });

  test("terminal colours are removed and the console keeps the newest lines", () => {
    expect(stripAnsi("\u001b[32mINFO\u001b[0m:    Starting build...")).toBe("INFO:    Starting build...");
    let log = withLogSnapshot(waitingLog("j"), { jobId: "j", lines: [], truncated: false });
    log = withLogEvent(log, { jobId: "j", index: 0, lines: Array.from({ length: LOG_KEEP + 5 }, (_, i) => `l${i}`) });
    expect(log.lines).toHaveLength(LOG_KEEP);
    expect(log.lines[0]).toBe("l5");
    expect(log.truncated).toBe(true);
  });
});

test("an unsaved definition copying relative paths is told to be saved first", () => {
  const relative = { ...fakeCheck("Bootstrap: scratch\n%files\n    hello /usr/local/bin/hello\n") };
  expect(relative.relativeFilesLine).toBe(3);
  expect(saveFirstAdvice(relative, false)).toMatch(/line 3/);
  expect(saveFirstAdvice(relative, true)).toBeNull();
  expect(saveFirstAdvice(fakeCheck("Bootstrap: scratch\n%files\n    /abs/hello /x\n%files from a\n    rel /y\n"), false)).toBeNull();
});
