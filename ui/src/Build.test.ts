import { EditorView } from "@codemirror/view";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { templateText } from "./lib/build";
import { fakeBackend } from "./test/backend";
import {
  BUILD_ID,
  buildJob,
  DEF_PATH,
  emptyCatalog,
  HASH_A,
  image,
  PULL_FOLDER,
  sampleBuilders,
  sampleKeys,
  sampleRemotes,
  succeededBuild,
} from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function start(options: Options = {}) {
  const backend = fakeBackend({ catalog: emptyCatalog(), remotes: sampleRemotes(), pullFolder: PULL_FOLDER, ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  return { backend, user };
}

async function openBuild(options: Options = {}) {
  const app = await start(options);
  await app.user.click(screen.getByTestId("nav-build"));
  await screen.findByTestId("build-page-title");
  // The build services are read when the page opens.
  await waitFor(() => expect(app.backend.callsOf("builders_list")).toHaveLength(1));
  return app;
}

function view(): EditorView {
  const content = screen.getByTestId("build-editor").querySelector<HTMLElement>(".cm-content");
  if (!content) throw new Error("no editor content");
  const found = EditorView.findFromDOM(content);
  if (!found) throw new Error("no editor view");
  return found;
}

function editorText(): string {
  return view().state.doc.toString();
}

/** Type at the end of the document, as a keystroke would. */
function typeAtEnd(text: string) {
  const v = view();
  v.dispatch({ changes: { from: v.state.doc.length, insert: text }, userEvent: "input.type" });
}

function builderSelect(): HTMLSelectElement {
  return screen.getByTestId("build-builder-select") as HTMLSelectElement;
}

function option(value: string): HTMLOptionElement {
  const found = Array.from(builderSelect().options).find((o) => o.value === value);
  if (!found) throw new Error(`no option ${value}`);
  return found;
}

function toastTexts(): string[] {
  return screen.queryAllByTestId("toast").map((t) => t.textContent ?? "");
}

/** Start the scratch template's local build and resolve to its job id. */
async function startScratchBuild(app: Awaited<ReturnType<typeof openBuild>>) {
  await app.user.click(screen.getByTestId("build-template-scratch"));
  await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
  await app.user.click(screen.getByTestId("build-start"));
  await waitFor(() => expect(app.backend.callsOf("build_start")).toHaveLength(1));
  await waitFor(() => expect(app.backend.callsOf("build_log")).toHaveLength(1));
  return app.backend.state.jobs[0].id;
}

describe("Build page: the definition", () => {
  test("starts empty, saying what to do; a template fills the editor and is checked", async () => {
    const { backend, user } = await openBuild();
    expect(screen.getByTestId("nav-build")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("build-empty")).toHaveTextContent("Open a definition file, drop one here, or start from a template");
    expect(screen.getByTestId("build-start")).toBeDisabled();
    expect(screen.getByTestId("build-blocker")).toHaveTextContent("Write a definition, open one, or start from a template first.");
    // The editor is there from the start, ready to be typed into.
    expect(editorText()).toBe("");
    expect(backend.callsOf("build_check")).toEqual([]);

    await user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(editorText()).toBe(templateText("docker")));
    expect(screen.queryByTestId("build-empty")).not.toBeInTheDocument();
    await waitFor(() => expect(backend.callsOf("build_check")).toEqual([{ text: templateText("docker") }]));
    expect(await screen.findByTestId("build-issues-none")).toHaveTextContent("No problems found · Bootstrap: docker · From: ubuntu:24.04");
    // Highlighted: the header keyword, the section and the comment each have their own style.
    const content = screen.getByTestId("build-editor").querySelector(".cm-content") as HTMLElement;
    const styled = Array.from(content.querySelectorAll("span")).map((s) => [s.textContent, s.className]);
    const classOf = (t: string) => styled.find(([text]) => text === t)?.[1];
    expect(classOf("Bootstrap:")).toBeTruthy();
    expect(classOf("%post")).toBeTruthy();
    expect(classOf("# Runs inside the image while it is built.")).toBeTruthy();
    expect(new Set([classOf("Bootstrap:"), classOf("%post"), classOf("# Runs inside the image while it is built.")]).size).toBe(3);
    // Line numbers.
    expect(screen.getByTestId("build-editor").querySelector(".cm-lineNumbers")).toHaveTextContent("1");
  });

  test("errors are marked in the editor and listed with their hint; Build waits for them to be fixed", async () => {
    const { backend, user } = await openBuild();
    await user.click(screen.getByTestId("build-template-scratch"));
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());

    typeAtEnd("\n%bogus\n");
    await waitFor(() => expect(backend.callsOf("build_check")).toHaveLength(2));
    const issue = await screen.findByTestId("build-issue");
    expect(issue).toHaveAttribute("data-severity", "error");
    expect(issue).toHaveTextContent("unknown section %bogus");
    expect(issue).toHaveTextContent("Sections are %post, %files");
    const marked = screen.getByTestId("build-editor").querySelector(".cm-lintRange-error");
    expect(marked).toHaveTextContent("%bogus");
    expect(screen.getByTestId("build-start")).toBeDisabled();
    expect(screen.getByTestId("build-blocker")).toHaveTextContent("Fix the error in the definition first.");
    expect(screen.getByTestId("build-dirty")).toHaveTextContent("Unsaved changes");

    // The list leads to the line.
    const line = Number(issue.dataset.line);
    await user.click(issue);
    const v = view();
    expect(v.state.selection.main.head).toBe(v.state.doc.line(line).from);
    expect(v.hasFocus).toBe(true);

    // Undo takes the edit back; the check follows.
    await user.keyboard("{Control>}z{/Control}");
    await waitFor(() => expect(editorText()).toBe(templateText("scratch")));
    await waitFor(() => expect(screen.queryByTestId("build-issue")).not.toBeInTheDocument());
    expect(screen.getByTestId("build-start")).toBeEnabled();
  });

  test("warnings are marked apart from errors and do not stop a build", async () => {
    const { user } = await openBuild();
    await user.click(screen.getByTestId("build-template-scratch"));
    await screen.findByTestId("build-issues-none");
    const v = view();
    v.dispatch({ changes: { from: v.state.doc.line(3).to, insert: "\nColour: blue" } });
    const issue = await screen.findByTestId("build-issue");
    expect(issue).toHaveAttribute("data-severity", "warning");
    expect(issue).toHaveTextContent("Line 4:1");
    expect(screen.getByTestId("build-editor").querySelector(".cm-lintRange-warning")).toHaveTextContent("Colour");
    expect(screen.getByTestId("build-start")).toBeEnabled();
  });

  test("Open… reads the file; Ctrl+S saves it; Save as… asks where", async () => {
    const { backend, user } = await openBuild({
      definitionFiles: { [DEF_PATH]: templateText("docker") },
      handlers: {
        "plugin:dialog|open": () => DEF_PATH,
        "plugin:dialog|save": () => "/home/ana/defs/copy.def",
      },
    });
    await user.click(screen.getByTestId("build-open"));
    await waitFor(() => expect(editorText()).toBe(templateText("docker")));
    expect(backend.callsOf("definition_open")).toEqual([{ path: DEF_PATH }]);
    expect(screen.getByTestId("build-file")).toHaveTextContent("ubuntu.def");
    expect(screen.getByTestId("build-destination-default")).toHaveTextContent(`${PULL_FOLDER}/ubuntu.sif`);

    typeAtEnd("# more\n");
    await waitFor(() => expect(screen.getByTestId("build-dirty")).toBeInTheDocument());
    await user.keyboard("{Control>}s{/Control}");
    await waitFor(() => expect(backend.callsOf("definition_save")).toEqual([{ path: DEF_PATH, text: `${templateText("docker")}# more\n` }]));
    await waitFor(() => expect(screen.queryByTestId("build-dirty")).not.toBeInTheDocument());

    await user.click(screen.getByTestId("build-save-as"));
    await waitFor(() => expect(backend.callsOf("definition_save")).toHaveLength(2));
    expect(backend.callsOf("plugin:dialog|save")[0].options).toMatchObject({ defaultPath: DEF_PATH });
    expect(backend.callsOf("definition_save")[1]).toMatchObject({ path: "/home/ana/defs/copy.def" });
    expect(screen.getByTestId("build-file")).toHaveTextContent("copy.def");
  });

  test("an unsaved template is saved through Save as…; unsaved edits are only dropped after a yes", async () => {
    const { backend, user } = await openBuild({ handlers: { "plugin:dialog|save": () => "/home/ana/defs/new.def" } });
    await user.click(screen.getByTestId("build-template-scratch"));
    await waitFor(() => expect(editorText()).toBe(templateText("scratch")));
    // An untouched template is no edit: another one replaces it without asking.
    await user.click(screen.getByTestId("build-template-library"));
    await waitFor(() => expect(editorText()).toBe(templateText("library")));
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();

    typeAtEnd("# mine\n");
    await waitFor(() => expect(screen.getByTestId("build-dirty")).toBeInTheDocument());
    await user.click(screen.getByTestId("build-template-docker"));
    const confirm = await screen.findByTestId("confirm-dialog");
    expect(within(confirm).getByTestId("build-discard-message")).toHaveTextContent(
      "Unsaved definition has changes that are not saved. To start from the Docker base template, they are dropped.",
    );
    await user.keyboard("{Escape}");
    expect(editorText()).toBe(`${templateText("library")}# mine\n`);

    await user.click(screen.getByTestId("build-save"));
    await waitFor(() => expect(backend.callsOf("definition_save")).toEqual([{ path: "/home/ana/defs/new.def", text: `${templateText("library")}# mine\n` }]));
    await waitFor(() => expect(screen.getByTestId("build-file")).toHaveTextContent("new.def"));
    await user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(editorText()).toBe(templateText("docker")));
  });

  test("a .def dropped on the window opens on the Build page; a SIF still asks what to do", async () => {
    const { backend, user } = await start({ definitionFiles: { [DEF_PATH]: "Bootstrap: scratch\n" } });
    await waitFor(async () => {
      await backend.drag("enter", [DEF_PATH]);
      expect(screen.getByTestId("drop-overlay")).toHaveTextContent("Drop to open on the Build page");
    });
    await backend.drag("drop", [DEF_PATH]);
    await waitFor(() => expect(screen.getByTestId("nav-build")).toHaveAttribute("aria-current", "page"));
    await waitFor(() => expect(editorText()).toBe("Bootstrap: scratch\n"));
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(0);

    // Dropped over unsaved edits: asked first.
    typeAtEnd("%help\n  hi\n");
    await backend.drag("enter", ["/home/ana/defs/other.def"]);
    await backend.drag("drop", ["/home/ana/defs/other.def"]);
    const confirm = await screen.findByTestId("confirm-dialog");
    expect(confirm).toHaveTextContent("To open other.def, they are dropped.");
    await user.click(within(confirm).getByRole("button", { name: "Discard" }));
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Could not open other.def")));

    await backend.drag("enter", ["/drop/a.sif"]);
    await backend.drag("drop", ["/drop/a.sif"]);
    expect(await screen.findByTestId("drop-chooser")).toBeInTheDocument();
  });
});

describe("Build page: the builder", () => {
  test("a definition with %post cannot be built here: the reason is shown, and one click switches to the remote builder", async () => {
    const { user } = await openBuild();
    await user.click(screen.getByTestId("build-template-scratch"));
    await waitFor(() => expect(builderSelect()).toHaveValue("local"));
    expect(option("local")).toBeEnabled();
    expect(Array.from(builderSelect().options).map((o) => o.value)).toEqual(["local", "remote:SylabsCloud", "remote:site"]);
    expect(screen.getByTestId("build-library-ref")).toBeDisabled();
    expect(screen.getByTestId("build-detached")).toBeDisabled();
    await user.selectOptions(builderSelect(), "local");

    await user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(option("local")).toBeDisabled());
    expect(builderSelect()).toHaveValue("local");
    expect(screen.getByTestId("build-local-reason")).toHaveTextContent(
      "This computer: %post runs commands inside the image while it is built, which needs a build service.",
    );
    expect(screen.getByTestId("build-start")).toBeDisabled();
    expect(screen.getByTestId("build-blocker")).toHaveTextContent("%post runs commands inside the image");

    await user.click(screen.getByTestId("build-use-remote"));
    expect(builderSelect()).toHaveValue("remote:SylabsCloud");
    expect(screen.getByTestId("build-start")).toBeEnabled();
    expect(screen.getByTestId("build-library-ref")).toBeEnabled();
    expect(screen.queryByTestId("build-use-remote")).not.toBeInTheDocument();
  });

  test("a remote without a login says so and leads to Remotes; one without a builder says why", async () => {
    const { user } = await openBuild({
      builders: [...sampleBuilders(), { remote: "lab", url: "https://build.lab", loggedIn: false, isDefault: false, error: null }],
    });
    await user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(builderSelect()).toHaveValue("remote:SylabsCloud"));
    expect(screen.getByTestId("build-builder-error")).toHaveTextContent("site: site advertises no build service. Use another remote to build.");
    await user.selectOptions(builderSelect(), "remote:lab");
    expect(screen.getByTestId("build-not-logged-in")).toHaveTextContent("Not logged in to lab");
    expect(screen.getByTestId("build-start")).toBeDisabled();
    await user.click(screen.getByTestId("build-go-remotes"));
    expect(await screen.findByTestId("nav-remotes")).toHaveAttribute("aria-current", "page");
  });
});

describe("Build page: building", () => {
  test("a local build sends the definition, arch and destination", async () => {
    const { backend, user } = await openBuild();
    await user.click(screen.getByTestId("build-template-scratch"));
    await user.selectOptions(screen.getByTestId("build-arch"), "arm64");
    await user.type(screen.getByTestId("build-destination"), "/out/hello.sif");
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
    await user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(1));
    expect(backend.callsOf("build_start")[0]).toEqual({
      request: {
        definition: templateText("scratch"),
        definitionPath: null,
        mode: "local",
        remote: null,
        builderUrl: null,
        arch: "arm64",
        destination: "/out/hello.sif",
        libraryRef: null,
        detached: false,
        force: false,
        attach: null,
        buildArgs: [],
      },
    });
    // The page shows the build itself; no note in the corner repeats it.
    await waitFor(() => expect(screen.getByTestId("build-run")).toHaveTextContent("Build hello.sif on this computer"));
    expect(toastTexts().some((t) => t.includes("Build hello.sif"))).toBe(false);
    expect(screen.getByTestId("build-start")).toBeDisabled();
    expect(screen.getByTestId("build-blocker")).toHaveTextContent("The build below is still running");
    expect(screen.getByTestId("build-cancel")).toBeEnabled();
    expect(await screen.findByTestId("transfers-strip")).toBeInTheDocument();
  });

  test("a remote build names the builder, the library ref and detach", async () => {
    const { backend, user } = await openBuild({ definitionFiles: { [DEF_PATH]: templateText("docker") }, handlers: { "plugin:dialog|open": () => DEF_PATH } });
    await user.click(screen.getByTestId("build-open"));
    await waitFor(() => expect(builderSelect()).toHaveValue("remote:SylabsCloud"));
    await user.type(screen.getByTestId("build-library-ref"), "library://ana/tools/ubuntu:1.0");
    await user.click(screen.getByTestId("build-detached"));
    await user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(1));
    expect(backend.callsOf("build_start")[0].request).toEqual({
      definition: templateText("docker"),
      definitionPath: DEF_PATH,
      mode: "remote",
      remote: "SylabsCloud",
      builderUrl: null,
      arch: null,
      destination: null,
      libraryRef: "library://ana/tools/ubuntu:1.0",
      detached: true,
      force: false,
      attach: null,
      buildArgs: [],
    });
  });

  test("the scratch template, unsaved, says to save it beside the file it copies", async () => {
    const { user } = await openBuild();
    await user.click(screen.getByTestId("build-template-scratch"));
    const advice = await screen.findByTestId("build-save-first");
    expect(advice).toHaveTextContent(/Save the definition beside the files it copies: %files on line \d+/);
  });

  test("a definition with placeholders asks for their values, which the build carries", async () => {
    const { backend, user } = await openBuild();
    expect(screen.queryByTestId("build-args")).toBeNull();
    typeAtEnd("Bootstrap: docker\nFrom: alpine:{{ TAG }}\n%arguments\n    TAG=3.19\n%post\n    true\n");
    const field = await screen.findByTestId("build-args");
    expect(screen.getByTestId("build-args-note")).toHaveTextContent("{{ TAG }}");
    await user.type(field, "TAG=3.20");
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
    await user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(1));
    const call = backend.callsOf("build_start")[0] as { request: { buildArgs: string[]; mode: string } };
    expect(call.request.buildArgs).toEqual(["TAG=3.20"]);
    expect(call.request.mode).toBe("remote");
  });

  test("the backend's refusal is shown with its hint; a file in the way is replaced after a yes", async () => {
    const { backend, user } = await openBuild({
      existingFiles: [`${PULL_FOLDER}/image.sif`],
      handlers: {
        build_start: (args) => {
          const request = args.request as { mode: string };
          if (request.mode === "remote") {
            throw { code: "auth.token_invalid", message: "The token for SylabsCloud was refused.", hint: "Log in to SylabsCloud again." };
          }
          return backend.defaults.build_start(args);
        },
      },
    });
    await user.click(screen.getByTestId("build-template-scratch"));
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
    await user.click(screen.getByTestId("build-start"));
    const confirm = await screen.findByTestId("confirm-dialog");
    expect(within(confirm).getByTestId("build-replace-message")).toHaveTextContent(`${PULL_FOLDER}/image.sif already exists`);
    await user.click(within(confirm).getByRole("button", { name: "Replace" }));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(2));
    expect(backend.callsOf("build_start")[1].request).toMatchObject({ force: true, mode: "local" });
    await user.click(screen.getByTestId("build-cancel"));
    await waitFor(() => expect(screen.getByTestId("build-stopped")).toHaveTextContent("Cancelled"));

    await user.selectOptions(builderSelect(), "remote:SylabsCloud");
    await user.click(screen.getByTestId("build-start"));
    const error = await screen.findByTestId("build-start-error");
    expect(error).toHaveAttribute("data-code", "auth.token_invalid");
    expect(error).toHaveTextContent("The token for SylabsCloud was refused.");
    expect(error).toHaveTextContent("Log in to SylabsCloud again.");
  });

  test("without a pull folder the first build asks for one and remembers it", async () => {
    const { backend, user } = await openBuild({ pullFolder: null, handlers: { "plugin:dialog|open": () => "/scratch/sif" } });
    await user.click(screen.getByTestId("build-template-scratch"));
    expect(screen.getByTestId("build-destination-default")).toHaveTextContent("image.sif in the folder for pulled images");
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
    await user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(2));
    expect(backend.callsOf("settings_set_pull_folder")).toEqual([{ folder: "/scratch/sif" }]);
    expect(backend.state.jobs[0].destination).toBe("/scratch/sif/image.sif");
    expect(screen.getByTestId("build-destination-default")).toHaveTextContent("/scratch/sif/image.sif");
  });

  test("log lines are appended once each, and the console follows them unless scrolled up", async () => {
    const app = await openBuild();
    const id = await startScratchBuild(app);
    const console = screen.getByTestId("build-log");
    let top = 0;
    Object.defineProperty(console, "scrollHeight", { configurable: true, get: () => 1000 });
    Object.defineProperty(console, "clientHeight", { configurable: true, get: () => 200 });
    Object.defineProperty(console, "scrollTop", { configurable: true, get: () => top, set: (v: number) => (top = v) });

    await app.backend.emitBuildLog(id, ["INFO:    Starting build...", "\u001b[32mINFO\u001b[0m:    Copying files"]);
    await waitFor(() => expect(console.textContent).toBe("INFO:    Starting build...\nINFO:    Copying files"));
    await waitFor(() => expect(top).toBe(1000));
    // The same lines again (a resend) are not shown twice.
    await app.backend.emitBuildLog(id, ["INFO:    Copying files", "INFO:    Creating SIF file..."], 1);
    await app.backend.emitBuildLog("another-job", ["not ours"], 0);
    await waitFor(() => expect(console.textContent).toBe("INFO:    Starting build...\nINFO:    Copying files\nINFO:    Creating SIF file..."));

    // Scrolled up: the console stays where the person is, and Follow is off.
    top = 100;
    console.dispatchEvent(new Event("scroll"));
    await waitFor(() => expect(screen.getByTestId("build-follow")).not.toBeChecked());
    await app.backend.emitBuildLog(id, ["INFO:    Build complete"]);
    await waitFor(() => expect(console.textContent).toContain("Build complete"));
    expect(top).toBe(100);
    await app.user.click(screen.getByTestId("build-follow"));
    await waitFor(() => expect(top).toBe(1000));
  });

  test("progress shows while it runs; the result offers Local images, Sign… and Push…", async () => {
    const app = await openBuild({ keys: sampleKeys() });
    const id = await startScratchBuild(app);
    const running = app.backend.state.jobs[0];
    await app.backend.emitJob({ ...running, phase: "downloading", bytesDone: 10 * 1024 * 1024, bytesTotal: 40 * 1024 * 1024 });
    expect(await screen.findByTestId("job-phase")).toHaveTextContent("Downloading");
    expect(screen.getByTestId("job-bytes")).toHaveTextContent("10.0 MiB of 40.0 MiB");

    const path = `${PULL_FOLDER}/image.sif`;
    app.backend.state.catalog.images.push(image(path));
    await app.backend.emitJob({ ...succeededBuild(id, { path, mode: "local", buildId: null }), title: running.title });
    const result = await screen.findByTestId("build-result");
    expect(within(result).getByTestId("build-result-path")).toHaveTextContent(path);
    expect(within(result).getByTestId("build-result-hash")).toHaveTextContent(HASH_A);
    expect(within(result).getAllByTestId("copy-button")).toHaveLength(2);
    expect(screen.getByTestId("build-state")).toHaveTextContent("Built");
    expect(screen.queryByTestId("build-cancel")).not.toBeInTheDocument();
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Built image.sif")));

    await app.user.click(within(result).getByTestId("build-sign"));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("image.sif");
    await app.user.keyboard("{Escape}");

    await app.user.click(within(result).getByTestId("build-push"));
    const push = await screen.findByTestId("push-dialog");
    expect(push).toHaveTextContent("image.sif");
    await app.user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("push-dialog")).not.toBeInTheDocument());

    await app.user.click(within(result).getByTestId("build-open-local"));
    await waitFor(() => expect(screen.getByTestId("nav-local-images")).toHaveAttribute("aria-current", "page"));
    await waitFor(() => expect(document.querySelector('[data-testid="image-row"][aria-selected="true"]')).toHaveTextContent("image.sif"));
    // Back on Build, the definition and the result are still there.
    await app.user.click(screen.getByTestId("nav-build"));
    expect(editorText()).toBe(templateText("scratch"));
    expect(screen.getByTestId("build-result")).toBeInTheDocument();
  });

  test("a detached build shows its id; Attach follows it into the same destination", async () => {
    const { backend, user } = await openBuild();
    await user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(builderSelect()).toHaveValue("remote:SylabsCloud"));
    await user.type(screen.getByTestId("build-destination"), "/out/u.sif");
    await user.click(screen.getByTestId("build-detached"));
    await user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(backend.callsOf("build_log")).toHaveLength(1));
    const id = backend.state.jobs[0].id;
    await backend.emitJob(succeededBuild(id, { path: null, hash: null, size: 0, detached: true, buildId: BUILD_ID }));
    const result = await screen.findByTestId("build-result");
    expect(within(result).getByTestId("build-result-id")).toHaveTextContent(BUILD_ID);
    expect(screen.getByTestId("build-state")).toHaveTextContent("Submitted");
    await user.click(within(result).getByTestId("build-attach"));
    await waitFor(() => expect(backend.callsOf("build_start")).toHaveLength(2));
    expect(backend.callsOf("build_start")[1].request).toMatchObject({
      mode: "remote",
      remote: "SylabsCloud",
      destination: "/out/u.sif",
      attach: BUILD_ID,
      detached: false,
    });
    await waitFor(() => expect(screen.getByTestId("build-run")).toHaveTextContent(`Attach to build ${BUILD_ID}`));
  });

  test("a failed remote build whose build goes on is re-attached", async () => {
    const app = await openBuild();
    await app.user.click(screen.getByTestId("build-template-docker"));
    await waitFor(() => expect(screen.getByTestId("build-start")).toBeEnabled());
    await app.user.click(screen.getByTestId("build-start"));
    await waitFor(() => expect(app.backend.callsOf("build_log")).toHaveLength(1));
    const running = app.backend.state.jobs[0];
    await app.backend.emitJob({
      ...running,
      state: "failed",
      buildId: BUILD_ID,
      resumable: true,
      error: { code: "net.unreachable", message: "The log stream from the build service broke.", hint: "Re-attach to follow the build again." },
    });
    const error = await screen.findByTestId("build-error");
    expect(error).toHaveTextContent("The log stream from the build service broke.");
    expect(error).toHaveTextContent("Re-attach to follow the build again.");
    expect(within(error).getByTestId("build-retry")).toHaveTextContent("Re-attach");
    await app.user.click(within(error).getByTestId("build-retry"));
    await waitFor(() => expect(app.backend.callsOf("job_retry")).toEqual([{ id: running.id }]));
    await waitFor(() => expect(screen.getByTestId("build-cancel")).toBeInTheDocument());
    expect(app.backend.callsOf("build_log")).toHaveLength(2);
  });
});

describe("builds on the Transfers page", () => {
  test("a build job shows its phase and result; Open log shows its log on the Build page", async () => {
    const { backend, user } = await start({
      jobs: [buildJob("job-building", { phase: "submitting" }), succeededBuild()],
      buildLogs: { "job-building": ["Submitting build to https://build.sylabs.io", "Build queued"] },
    });
    await user.click(screen.getByTestId("nav-transfers"));
    const cards = await screen.findAllByTestId("job-card");
    expect(cards.map((c) => c.dataset.kind)).toEqual(["build", "build"]);
    expect(within(cards[0]).getByTestId("job-state")).toHaveTextContent("Submitting to the build service");
    expect(within(cards[0]).getByRole("img", { name: "Build" })).toBeInTheDocument();
    expect(within(cards[1]).getByTestId("job-state")).toHaveTextContent("Built");
    expect(within(cards[1]).getByTestId("result-path")).toHaveTextContent(`${PULL_FOLDER}/ubuntu.sif`);
    expect(within(cards[1]).getByTestId("result-build-id")).toHaveTextContent(BUILD_ID);

    await user.click(within(cards[0]).getByTestId("job-open-log"));
    await waitFor(() => expect(screen.getByTestId("nav-build")).toHaveAttribute("aria-current", "page"));
    await waitFor(() => expect(screen.getByTestId("build-log")).toHaveTextContent("Submitting build to https://build.sylabs.io Build queued"));
    expect(backend.callsOf("build_log")).toEqual([{ jobId: "job-building" }]);
    expect(screen.getByTestId("build-cancel")).toBeEnabled();
    // Nothing was open in the editor: it still says how to start.
    expect(screen.getByTestId("build-empty")).toBeInTheDocument();
    await backend.emitBuildLog("job-building", ["Build started"]);
    await waitFor(() => expect(screen.getByTestId("build-log")).toHaveTextContent("Build queued Build started"));
  });

  test("a build the builder still runs offers Re-attach", async () => {
    const { backend, user } = await start({
      jobs: [buildJob("job-broken", { state: "interrupted", buildId: BUILD_ID, resumable: true })],
    });
    await user.click(screen.getByTestId("nav-transfers"));
    const card = await screen.findByTestId("job-card");
    expect(card).toHaveTextContent("Berth was closed while this build was running.");
    expect(within(card).getByTestId("job-retry")).toHaveTextContent("Re-attach");
    await user.click(within(card).getByTestId("job-retry"));
    expect(within(card).queryByTestId("job-retry")).not.toBeInTheDocument();
    expect(backend.callsOf("job_retry")).toEqual([{ id: "job-broken" }]);
  });
});
