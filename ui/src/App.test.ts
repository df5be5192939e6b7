import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import {
  ALPINE,
  BROKEN,
  BUSYBOX,
  busyboxDetails,
  CORRUPT,
  emptyCatalog,
  image,
  LOLCOW,
  sampleCatalog,
  WATCHED_DIR,
} from "./test/fixtures";

function rows(): HTMLElement[] {
  return screen.queryAllByTestId("image-row");
}

function rowPaths(): (string | null)[] {
  return rows().map((r) => r.getAttribute("data-path"));
}

function row(path: string): HTMLElement {
  const found = rows().find((r) => r.getAttribute("data-path") === path);
  if (!found) throw new Error(`no row for ${path}`);
  return found;
}

async function renderApp() {
  const user = userEvent.setup();
  const result = render(App);
  return { user, ...result };
}

async function renderWithImages(options: Parameters<typeof fakeBackend>[0] = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), ...options });
  const app = await renderApp();
  await screen.findByTestId("image-table");
  return { backend, ...app };
}

describe("catalog", () => {
  test("shows the empty state when there are no images", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog() });
    await renderApp();
    const empty = await screen.findByTestId("empty-state");
    expect(empty).toHaveTextContent("Drop SIF files here, or use Add images… / Watch folder…");
    expect(screen.queryByTestId("image-table")).not.toBeInTheDocument();
    expect(backend.callsOf("catalog_list")).toHaveLength(1);
  });

  test("marks the window ready once settings and the catalog are loaded", async () => {
    let release: (() => void) | undefined;
    const backend = fakeBackend({
      catalog: emptyCatalog(),
      theme: "dark",
      handlers: {
        catalog_list: () => new Promise((resolve) => (release = () => resolve(backend.state.catalog))),
      },
    });
    await renderApp();
    await waitFor(() => expect(release).toBeDefined());
    expect(screen.queryByTestId("app-ready")).not.toBeInTheDocument();
    release?.();
    expect(await screen.findByTestId("app-ready")).toBeInTheDocument();
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  test("lists the images from catalog_list with human sizes, arch, signature and date", async () => {
    await renderWithImages();
    expect(rowPaths()).toEqual([ALPINE, BUSYBOX, LOLCOW, BROKEN]);

    const busybox = row(BUSYBOX);
    expect(busybox).toHaveTextContent("busybox_amd64.sif");
    expect(busybox).toHaveTextContent("773.7 KiB");
    expect(busybox).toHaveTextContent("amd64");
    expect(within(busybox).getByText("Signed")).toBeInTheDocument();
    const time = busybox.querySelector("time");
    expect(time?.getAttribute("datetime")).toBe(new Date(1627931376 * 1000).toISOString());
    expect(time?.textContent).toMatch(/^2021-08-0[23] \d\d:\d\d$/);

    expect(row(ALPINE)).toHaveTextContent("Unsigned");
    expect(row(ALPINE)).toHaveTextContent("3.3 MiB");
    expect(within(row(LOLCOW)).getByRole("img", { name: "In a watched folder" })).toBeInTheDocument();
    expect(within(row(BUSYBOX)).queryByRole("img", { name: "In a watched folder" })).not.toBeInTheDocument();

    const folders = screen.getByTestId("folder-list");
    expect(within(folders).getByText(WATCHED_DIR)).toBeInTheDocument();
    expect(folders).toHaveTextContent("1 image");
    expect(screen.getByTestId("nav-local-images")).toHaveTextContent("4");
  });

  test("a broken file shows a warning and its error message in its row", async () => {
    await renderWithImages();
    const broken = row(BROKEN);
    expect(within(broken).getByTestId("image-error")).toHaveTextContent(CORRUPT.message);
    expect(within(broken).getByRole("img", { name: "Problem" })).toBeInTheDocument();
    // the healthy rows carry no error
    expect(within(row(BUSYBOX)).queryByTestId("image-error")).not.toBeInTheDocument();
  });

  test("shows why the catalog could not be loaded, and retries", async () => {
    let fail = true;
    const backend = fakeBackend({
      catalog: sampleCatalog(),
      handlers: {
        catalog_list: () => {
          if (fail) {
            throw { code: "io.permission_denied", message: "Permission denied reading the catalog.", hint: "Check the permissions of your config folder." };
          }
          return backend.state.catalog;
        },
      },
    });
    const { user } = await renderApp();
    const error = await screen.findByTestId("catalog-error");
    expect(error).toHaveTextContent("Permission denied reading the catalog.");
    expect(error).toHaveTextContent("Check the permissions of your config folder.");
    expect(within(error).getByTestId("error-code")).toHaveTextContent("io.permission_denied");

    fail = false;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    await screen.findByTestId("image-table");
    expect(rows()).toHaveLength(4);
  });

  test("without a Tauri backend the page says so instead of staying blank", async () => {
    await renderApp();
    const error = await screen.findByTestId("catalog-error");
    expect(error).toHaveTextContent("backend is not available");
    expect(error.getAttribute("data-code")).toBe("ui.no_backend");
  });

  test("sorts by size when the Size header is clicked, and reverses on a second click", async () => {
    const { user } = await renderWithImages();
    const sizeHeader = screen.getByTestId("sort-size").closest("th");
    expect(sizeHeader).toHaveAttribute("aria-sort", "none");

    await user.click(screen.getByTestId("sort-size"));
    expect(sizeHeader).toHaveAttribute("aria-sort", "descending");
    expect(rowPaths()).toEqual([LOLCOW, ALPINE, BUSYBOX, BROKEN]);

    await user.click(screen.getByTestId("sort-size"));
    expect(sizeHeader).toHaveAttribute("aria-sort", "ascending");
    expect(rowPaths()).toEqual([BROKEN, BUSYBOX, ALPINE, LOLCOW]);
    expect(screen.getByTestId("sort-name").closest("th")).toHaveAttribute("aria-sort", "none");
  });

  test("the filter box narrows the list; / focuses it and Escape clears it", async () => {
    const { user } = await renderWithImages();
    const filter = screen.getByTestId("image-filter");

    await user.keyboard("/");
    expect(filter).toHaveFocus();
    await user.keyboard("arm64");
    expect(rowPaths()).toEqual([ALPINE]);

    await user.clear(filter);
    await user.type(filter, "nothing-like-this");
    expect(screen.getByTestId("no-match")).toHaveTextContent("No images match");

    await user.keyboard("{Escape}");
    expect(filter).toHaveValue("");
    expect(rows()).toHaveLength(4);
  });
});

describe("adding", () => {
  test("Add by path calls catalog_add_paths with the typed path on Enter", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog() });
    const { user } = await renderApp();
    await screen.findByTestId("empty-state");

    const input = screen.getByRole("textbox", { name: "Add a file or folder by path" });
    expect(input).toHaveAttribute("id", "add-path-input");
    await user.type(input, "  /srv/sif/new.sif {Enter}");

    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/srv/sif/new.sif"] }]));
    const added = await screen.findByTestId("image-row");
    expect(added).toHaveAttribute("data-path", "/srv/sif/new.sif");
    // the new image is selected and inspected, and the field is ready for the next path
    expect(added).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(backend.callsOf("image_inspect")).toEqual([{ path: "/srv/sif/new.sif" }]));
    expect(input).toHaveValue("");
  });

  test("the Add button submits a folder path too", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog() });
    const { user } = await renderApp();
    await screen.findByTestId("empty-state");
    const button = document.getElementById("add-path-button") as HTMLButtonElement;
    expect(button).toBeDisabled();

    await user.type(document.getElementById("add-path-input") as HTMLInputElement, "/data/more/");
    await user.click(button);

    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/data/more/"] }]));
    const folders = await screen.findByTestId("folder-list");
    expect(folders).toHaveTextContent("/data/more/");
  });

  test("a failed add shows the error message and hint, and keeps the typed path", async () => {
    const backend = fakeBackend({
      catalog: emptyCatalog(),
      handlers: {
        catalog_add_paths: () => {
          throw { code: "io.not_found", message: "There is no file at /nope.sif.", hint: "Check the path and try again." };
        },
      },
    });
    const { user } = await renderApp();
    await screen.findByTestId("empty-state");
    const input = document.getElementById("add-path-input") as HTMLInputElement;
    await user.type(input, "/nope.sif{Enter}");

    const toast = await screen.findByRole("alert");
    expect(toast).toHaveTextContent("Could not add nope.sif");
    expect(toast).toHaveTextContent("There is no file at /nope.sif.");
    expect(toast).toHaveTextContent("Check the path and try again.");
    expect(toast).toHaveTextContent("io.not_found");
    expect(input).toHaveValue("/nope.sif");
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(1);
  });

  test("Add images… opens the SIF file picker and adds what was picked", async () => {
    const backend = fakeBackend({
      catalog: emptyCatalog(),
      handlers: { "plugin:dialog|open": () => ["/a/one.sif", "/a/two.sif"] },
    });
    const { user } = await renderApp();
    await screen.findByTestId("empty-state");
    await user.click(document.getElementById("add-images-button") as HTMLButtonElement);

    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/a/one.sif", "/a/two.sif"] }]));
    const [dialog] = backend.callsOf("plugin:dialog|open");
    expect(dialog.options).toMatchObject({
      multiple: true,
      filters: [{ name: "SIF images", extensions: ["sif"] }],
    });
    await waitFor(() => expect(rows()).toHaveLength(2));
  });

  test("Ctrl+O opens the file picker; cancelling it adds nothing", async () => {
    const backend = fakeBackend({ catalog: sampleCatalog() });
    const { user } = await renderApp();
    await screen.findByTestId("image-table");
    await user.keyboard("{Control>}o{/Control}");
    await waitFor(() => expect(backend.callsOf("plugin:dialog|open")).toHaveLength(1));
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(0);
  });

  test("Watch folder… opens a folder picker and watches the folder", async () => {
    const backend = fakeBackend({
      catalog: emptyCatalog(),
      handlers: { "plugin:dialog|open": () => "/srv/images/" },
    });
    const { user } = await renderApp();
    await screen.findByTestId("empty-state");
    await user.click(document.getElementById("watch-folder-button") as HTMLButtonElement);

    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/srv/images/"] }]));
    expect(backend.callsOf("plugin:dialog|open")[0].options).toMatchObject({ directory: true });
  });

  test("dropping files on the window shows the overlay, then adds the dropped paths", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog() });
    await renderApp();
    await screen.findByTestId("empty-state");
    // the page subscribes to the webview's drag-and-drop events once it is mounted
    await waitFor(async () => {
      await backend.drag("enter", ["/drop/a.sif"]);
      expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    });
    await backend.drag("leave");
    await waitFor(() => expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument());

    await backend.drag("enter", ["/drop/a.sif", "/drop/b.sif"]);
    await backend.drag("over");
    expect(await screen.findByTestId("drop-overlay")).toBeInTheDocument();
    await backend.drag("drop", ["/drop/a.sif", "/drop/b.sif"]);

    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/drop/a.sif", "/drop/b.sif"] }]));
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    await waitFor(() => expect(rowPaths()).toEqual(["/drop/a.sif", "/drop/b.sif"]));
  });
});

describe("details", () => {
  test("selecting a row inspects the image and shows its objects and labels", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(BUSYBOX));

    expect(row(BUSYBOX)).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(backend.callsOf("image_inspect")).toEqual([{ path: BUSYBOX }]));
    const pane = await screen.findByTestId("detail-pane");
    expect(within(pane).getByRole("heading", { name: "busybox_amd64.sif" })).toBeInTheDocument();
    expect(within(pane).getByTestId("detail-path")).toHaveTextContent(BUSYBOX);

    // Header first
    const header = await within(pane).findByTestId("header-table");
    expect(header).toHaveTextContent("4f307b4c-58a8-4753-9c0f-21dceefed4a6");
    expect(header).toHaveTextContent("43 free of 48");
    expect(header).toHaveTextContent("#!/usr/bin/env run-singularity");
    // offsets are raw byte positions, as siftool prints them
    expect(header).toHaveTextContent("32768");

    await user.click(within(pane).getByTestId("tab-objects"));
    expect(within(pane).getByTestId("tab-objects")).toHaveAttribute("aria-selected", "true");
    const objects = within(pane).getByTestId("objects-table");
    const objectRows = within(objects).getAllByTestId("object-row");
    expect(objectRows).toHaveLength(5);
    expect(objectRows[3]).toHaveAttribute("data-primary", "true");
    expect(within(objectRows[3]).getByTestId("primary-badge")).toHaveTextContent("Primary");
    expect(objectRows[3]).toHaveTextContent("Filesystem: Squashfs, Partition: System, Arch: amd64");
    const sigCells = within(objectRows[4]).getAllByRole("cell").map((c) => c.textContent?.trim());
    expect(sigCells.slice(0, 5)).toEqual(["5", "Signature", "NONE", "1 (G)", "790528"]);
    expect(objectRows[1]).toHaveTextContent("inspect-metadata.json");

    await user.click(within(pane).getByTestId("tab-labels"));
    const labels = within(pane).getByTestId("labels-table");
    expect(labels).toHaveTextContent("org.label-schema.usage.singularity.version");
    expect(labels).toHaveTextContent("3.8.1");

    await user.click(within(pane).getByTestId("tab-definition"));
    expect(within(pane).getByTestId("script-text")).toHaveTextContent("from: busybox:1.33.1");

    await user.click(within(pane).getByTestId("tab-environment"));
    const envFiles = within(pane).getAllByTestId("env-file");
    expect(envFiles).toHaveLength(2);
    expect(envFiles[0]).toHaveTextContent("/.singularity.d/env/10-docker2singularity.sh");
    expect(envFiles[0]).toHaveTextContent("export PATH=");
  });

  test("an image without labels says so; optional script tabs appear only when present", async () => {
    const { user } = await renderWithImages({
      details: (path) => {
        const d = busyboxDetails(path);
        d.container!.labels = [];
        d.container!.helpfile = "Usage: run me";
        return d;
      },
    });
    await user.click(row(ALPINE));
    const pane = await screen.findByTestId("detail-pane");
    await user.click(await within(pane).findByTestId("tab-labels"));
    expect(within(pane).getByTestId("labels-empty")).toHaveTextContent("No labels");
    expect(within(pane).queryByTestId("tab-startscript")).not.toBeInTheDocument();
    await user.click(within(pane).getByTestId("tab-help"));
    expect(within(pane).getByTestId("script-text")).toHaveTextContent("Usage: run me");
  });

  test("a rejected inspect shows the ApiError message, hint and code in place", async () => {
    const { user } = await renderWithImages({
      handlers: {
        image_inspect: () => {
          throw CORRUPT;
        },
      },
    });
    await user.click(row(BROKEN));
    const pane = await screen.findByTestId("detail-pane");
    const error = await within(pane).findByTestId("image-error");
    expect(within(error).getByTestId("error-text")).toHaveTextContent(CORRUPT.message);
    expect(within(error).getByTestId("error-hint")).toHaveTextContent(CORRUPT.hint!);
    const code = within(error).getByTestId("error-code");
    expect(code).toHaveTextContent("sif.bad_magic");
    expect(code.closest("details")).not.toHaveAttribute("open");
    expect(within(pane).queryByTestId("tab-header")).not.toBeInTheDocument();
    // the rest of the window keeps working
    await user.click(row(ALPINE));
    expect(row(ALPINE)).toHaveAttribute("aria-selected", "true");
  });

  test("a damaged file names the damage above the objects it still shows", async () => {
    const { user } = await renderWithImages({
      details: (path) => ({
        ...busyboxDetails(path),
        damage: {
          code: "sif.corrupt",
          message: "Object 4 out of bounds (offset 45056, size 745472, file length 40000)",
          hint: "The file is damaged or incomplete (for example an interrupted download). Pull or copy it again.",
        },
      }),
    });
    await user.click(row(BUSYBOX));
    const pane = await screen.findByTestId("detail-pane");
    expect(await within(pane).findByTestId("image-damage")).toHaveTextContent("Object 4 out of bounds");
    await user.click(within(pane).getByTestId("tab-objects"));
    expect(within(within(pane).getByTestId("objects-table")).getAllByTestId("object-row")).toHaveLength(5);
  });

  test("partly unreadable metadata lists the problems and still shows the rest", async () => {
    const { user } = await renderWithImages({
      details: (path) => {
        const d = busyboxDetails(path);
        return {
          ...d,
          container: {
            ...d.container!,
            labels: [],
            problems: ["/.singularity.d/labels.json is not a JSON object: expected value at line 1 column 1"],
          },
        };
      },
    });
    await user.click(row(BUSYBOX));
    const pane = await screen.findByTestId("detail-pane");
    const problems = await within(pane).findByTestId("container-problems");
    expect(problems).toHaveTextContent("labels.json is not a JSON object");
    await user.click(within(pane).getByTestId("tab-runscript"));
    expect(pane).toHaveTextContent("OCI_CMD");
  });

  test("containerError shows in Labels and Definition while Header and Objects still work", async () => {
    const { user } = await renderWithImages({
      details: (path) => ({
        ...busyboxDetails(path),
        container: null,
        containerError: {
          code: "squashfs.corrupt",
          message: "The primary partition is not a readable SquashFS file system.",
          hint: "The image may be truncated; download or build it again.",
        },
      }),
    });
    await user.click(row(BUSYBOX));
    const pane = await screen.findByTestId("detail-pane");
    expect(await within(pane).findByTestId("header-table")).toHaveTextContent("amd64");

    await user.click(within(pane).getByTestId("tab-objects"));
    expect(within(within(pane).getByTestId("objects-table")).getAllByTestId("object-row")).toHaveLength(5);

    await user.click(within(pane).getByTestId("tab-labels"));
    const error = within(pane).getByTestId("container-error");
    expect(error).toHaveTextContent("The primary partition is not a readable SquashFS file system.");
    expect(error).toHaveTextContent("The image may be truncated; download or build it again.");
    expect(within(pane).queryByTestId("labels-table")).not.toBeInTheDocument();

    await user.click(within(pane).getByTestId("tab-definition"));
    expect(within(pane).getByTestId("container-error")).toHaveTextContent("squashfs.corrupt");
  });

  test("a slow inspect of a previous selection never replaces the current one", async () => {
    let releaseFirst: (() => void) | undefined;
    const { user } = await renderWithImages({
      handlers: {
        image_inspect: (args) => {
          const details = busyboxDetails(args.path as string);
          if (args.path !== ALPINE) return details;
          return new Promise((resolve) => {
            releaseFirst = () => resolve({ ...details, header: { ...details.header, id: "stale-id" } });
          });
        },
      },
    });
    await user.click(row(ALPINE));
    await screen.findByTestId("detail-loading");
    await user.click(row(BUSYBOX));
    const header = await screen.findByTestId("header-table");
    releaseFirst?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(screen.getByTestId("detail-pane")).toHaveAttribute("data-path", BUSYBOX);
    expect(header).not.toHaveTextContent("stale-id");
  });
  test("the tabs follow Left/Right arrow keys", async () => {
    const { user } = await renderWithImages();
    await user.click(row(BUSYBOX));
    const pane = await screen.findByTestId("detail-pane");
    const header = await within(pane).findByTestId("tab-header");
    header.focus();
    await user.keyboard("{ArrowRight}");
    expect(within(pane).getByTestId("tab-objects")).toHaveFocus();
    expect(within(pane).getByTestId("tab-objects")).toHaveAttribute("aria-selected", "true");
    expect(within(pane).getByTestId("objects-table")).toBeInTheDocument();
    await user.keyboard("{ArrowLeft}{ArrowLeft}");
    expect(within(pane).getByTestId("tab-environment")).toHaveAttribute("aria-selected", "true");
  });

  test("the Forget… button in the details asks too, and Cancel keeps the image", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(ALPINE));
    const pane = await screen.findByTestId("detail-pane");
    await user.click(within(pane).getByTestId("forget-button"));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Forget alpine-3.20.sif?");
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(backend.callsOf("catalog_remove_image")).toHaveLength(0);
    expect(rowPaths()).toContain(ALPINE);
  });
});

describe("keyboard", () => {
  test("Down moves the selection, Enter opens the details", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(ALPINE));
    expect(row(ALPINE)).toHaveFocus();

    await user.keyboard("{ArrowDown}");
    expect(row(BUSYBOX)).toHaveAttribute("aria-selected", "true");
    expect(row(ALPINE)).toHaveAttribute("aria-selected", "false");
    await waitFor(() => expect(row(BUSYBOX)).toHaveFocus());
    await waitFor(() => expect(backend.callsOf("image_inspect").at(-1)).toEqual({ path: BUSYBOX }));

    await user.keyboard("{ArrowUp}{ArrowDown}{ArrowDown}");
    await waitFor(() => expect(row(LOLCOW)).toHaveFocus());
    expect(row(LOLCOW)).toHaveAttribute("aria-selected", "true");

    await user.keyboard("{Enter}");
    const pane = await screen.findByTestId("detail-pane");
    expect(pane).toHaveAttribute("data-path", LOLCOW);
    await waitFor(() => expect(within(pane).getByTestId("tab-header")).toHaveFocus());

    // Escape leaves the details and returns to the list
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("detail-pane")).not.toBeInTheDocument();
    await waitFor(() => expect(row(LOLCOW)).toHaveFocus());
  });

  test("arrow keys pick the list up again when nothing has focus", async () => {
    const { user } = await renderWithImages();
    expect(document.activeElement).toBe(document.body);
    await user.keyboard("{ArrowDown}");
    expect(row(ALPINE)).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(row(ALPINE)).toHaveFocus());
  });

  test("only the selected row is a Tab stop", async () => {
    const { user } = await renderWithImages();
    expect(rows().map((r) => r.tabIndex)).toEqual([0, -1, -1, -1]);
    await user.click(row(LOLCOW));
    expect(rows().map((r) => r.tabIndex)).toEqual([-1, -1, 0, -1]);
  });

  test("Delete asks to forget an added image, naming the file, and forgets it on confirm", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(BUSYBOX));
    await user.keyboard("{Delete}");

    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Forget busybox_amd64.sif?");
    expect(dialog).toHaveTextContent(BUSYBOX);
    expect(dialog).toHaveTextContent("The file stays on disk.");
    expect(within(dialog).queryByRole("button", { name: /delete/i })).not.toBeInTheDocument();

    await user.click(within(dialog).getByRole("button", { name: "Forget" }));
    await waitFor(() => expect(backend.callsOf("catalog_remove_image")).toEqual([{ path: BUSYBOX }]));
    await waitFor(() => expect(rowPaths()).not.toContain(BUSYBOX));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    // the selection moves on to the next row
    await waitFor(() => expect(row(LOLCOW)).toHaveAttribute("aria-selected", "true"));
  });

  test("Escape cancels the forget dialog without calling the backend", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(ALPINE));
    await user.keyboard("{Delete}");
    await screen.findByRole("alertdialog");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(backend.callsOf("catalog_remove_image")).toHaveLength(0);
    await waitFor(() => expect(row(ALPINE)).toHaveFocus());
  });

  test("Delete on an image from a watched folder explains instead of forgetting", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(row(LOLCOW));
    await user.keyboard("{Delete}");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    const note = await screen.findByTestId("toast");
    expect(note).toHaveTextContent("lolcow.sif is in a watched folder");
    expect(backend.callsOf("catalog_remove_image")).toHaveLength(0);
  });
});

describe("folders", () => {
  test("Stop watching removes the folder", async () => {
    const { backend, user } = await renderWithImages();
    await user.click(screen.getByRole("button", { name: `Stop watching ${WATCHED_DIR}` }));
    await waitFor(() => expect(backend.callsOf("catalog_remove_folder")).toEqual([{ path: WATCHED_DIR }]));
    await waitFor(() => expect(screen.queryByTestId("folder-list")).not.toBeInTheDocument());
    expect(rowPaths()).not.toContain(LOLCOW);
  });

  test("a change on disk in a watched folder reloads the list once per burst", async () => {
    const { backend } = await renderWithImages();
    const before = backend.callsOf("catalog_list").length;
    const added = `${WATCHED_DIR}/fresh.sif`;
    backend.state.catalog.images.push({ ...backend.state.catalog.images[0], path: added, name: "fresh.sif", source: "watched" });
    // The OS reports a copy as several events.
    await emit("catalog-changed", null);
    await emit("catalog-changed", null);
    await emit("catalog-changed", null);
    await waitFor(() => expect(rowPaths()).toContain(added), { timeout: 3000 });
    expect(backend.callsOf("catalog_list").length - before).toBe(1);
  });
});

describe("theme", () => {
  test("applies the saved theme, and a new choice is saved and applied", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog(), theme: "light" });
    const { user } = await renderApp();
    const select = screen.getByTestId("theme-select");
    await waitFor(() => expect(select).toHaveValue("light"));
    expect(document.documentElement.dataset.theme).toBe("light");

    await user.selectOptions(select, "dark");
    await waitFor(() => expect(backend.callsOf("settings_set_theme")).toEqual([{ theme: "dark" }]));
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(document.documentElement.dataset.themePreference).toBe("dark");
    expect(backend.state.theme).toBe("dark");
  });

  test("System follows prefers-color-scheme", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog(), theme: "dark" });
    const original = window.matchMedia;
    window.matchMedia = ((query: string) => ({ ...original(query), matches: query.includes("dark") })) as typeof window.matchMedia;
    try {
      const { user } = await renderApp();
      await waitFor(() => expect(screen.getByTestId("theme-select")).toHaveValue("dark"));
      await user.selectOptions(screen.getByTestId("theme-select"), "system");
      await waitFor(() => expect(backend.callsOf("settings_set_theme")).toEqual([{ theme: "system" }]));
      expect(document.documentElement.dataset.themePreference).toBe("system");
      expect(document.documentElement.dataset.theme).toBe("dark");
    } finally {
      window.matchMedia = original;
    }
  });

  test("a theme that cannot be saved is rolled back and the error shown", async () => {
    fakeBackend({
      catalog: emptyCatalog(),
      theme: "light",
      handlers: {
        settings_set_theme: () => {
          throw { code: "io.permission_denied", message: "Could not write settings.json.", hint: "Check the permissions of your config folder." };
        },
      },
    });
    const { user } = await renderApp();
    const select = screen.getByTestId("theme-select");
    await waitFor(() => expect(select).toHaveValue("light"));
    await user.selectOptions(select, "dark");
    const toast = await screen.findByRole("alert");
    expect(toast).toHaveTextContent("Could not save the theme");
    expect(toast).toHaveTextContent("Could not write settings.json.");
    expect(select).toHaveValue("light");
    expect(document.documentElement.dataset.theme).toBe("light");
  });
});

test("image() fixture stays in step with the generated LocalImage type", () => {
  expect(Object.keys(image("/x.sif")).sort()).toEqual(
    ["arch", "error", "modified", "name", "path", "signed", "size", "source"].sort(),
  );
});
