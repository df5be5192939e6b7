import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import { emptyCatalog, HASH_A, HASH_B, PULL_FOLDER, sampleLibrary, sampleRemotes } from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function start(options: Options = {}) {
  const backend = fakeBackend({ catalog: emptyCatalog(), remotes: sampleRemotes(), library: sampleLibrary(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  return { backend, user };
}

async function openContainer(options: Options = {}) {
  const app = await start(options);
  await app.user.click(screen.getByTestId("nav-library"));
  await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
  await app.user.click(screen.getByTestId("library-entity-go"));
  await app.user.click(await screen.findByRole("button", { name: "tools" }));
  await app.user.click(await screen.findByRole("button", { name: "busybox" }));
  await screen.findByTestId("container-detail");
  return app;
}

function imageRow(hash: string): HTMLElement {
  const found = screen.getAllByTestId("image-row-lib").find((r) => r.dataset.hash === hash);
  if (!found) throw new Error(`no image row ${hash}`);
  return found;
}

const LATEST = "library://cloud.sylabs.io/ana/tools/busybox:latest";

function toastTexts(): string[] {
  return screen.queryAllByTestId("toast").map((t) => t.textContent ?? "");
}

describe("pull from the Library", () => {
  test("Pull on an image row pulls its tag and arch into the pull folder, verified", async () => {
    const { backend, user } = await openContainer({ pullFolder: PULL_FOLDER });
    await user.click(within(imageRow(HASH_B)).getByTestId("image-pull-button"));
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(1));
    expect(backend.callsOf("transfer_pull")[0]).toEqual({
      request: {
        remote: "SylabsCloud",
        reference: "library://cloud.sylabs.io/ana/tools/busybox:1.36",
        arch: "arm64",
        destination: null,
        force: false,
        noCache: false,
        verify: true,
      },
    });
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Pull started")));
    expect(await screen.findByTestId("transfers-strip")).toHaveTextContent("1 transfer running");
  });

  test("without a pull folder, asks for one once, saves it, and pulls", async () => {
    const { backend, user } = await openContainer({ handlers: { "plugin:dialog|open": () => PULL_FOLDER } });
    await user.click(within(imageRow(HASH_A)).getByTestId("image-pull-button"));
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(2));
    expect(backend.callsOf("plugin:dialog|open")[0].options).toMatchObject({ directory: true, title: "Folder for pulled images" });
    expect(backend.callsOf("settings_set_pull_folder")).toEqual([{ folder: PULL_FOLDER }]);
    expect(backend.callsOf("transfer_pull").map((a) => (a.request as { reference: string }).reference)).toEqual([LATEST, LATEST]);
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Pull started")));

    // Remembered: the next pull goes straight there.
    await user.click(within(imageRow(HASH_B)).getByTestId("image-pull-button"));
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(3));
    expect(backend.callsOf("plugin:dialog|open")).toHaveLength(1);
    await user.click(screen.getByTestId("nav-pull"));
    expect(await screen.findByTestId("pull-folder")).toHaveTextContent(PULL_FOLDER);
  });

  test("cancelling the folder picker starts nothing and complains about nothing", async () => {
    const { backend, user } = await openContainer();
    await user.click(within(imageRow(HASH_A)).getByTestId("image-pull-button"));
    await waitFor(() => expect(backend.callsOf("plugin:dialog|open")).toHaveLength(1));
    await waitFor(() => expect(within(imageRow(HASH_A)).getByTestId("image-pull-button")).toBeEnabled());
    expect(backend.callsOf("transfer_pull")).toHaveLength(1);
    expect(backend.callsOf("settings_set_pull_folder")).toHaveLength(0);
    expect(toastTexts()).toEqual([]);
  });

  test("a file in the way is replaced only after “Replace”, naming it", async () => {
    const existing = `${PULL_FOLDER}/busybox_latest.sif`;
    const { backend, user } = await openContainer({ pullFolder: PULL_FOLDER, existingFiles: [existing] });
    await user.click(within(imageRow(HASH_A)).getByTestId("image-pull-button"));
    const confirm = await screen.findByTestId("confirm-dialog");
    expect(confirm).toHaveTextContent("Replace the existing file?");
    expect(within(confirm).getByTestId("replace-message")).toHaveTextContent(`${existing} already exists`);
    expect(confirm).toHaveTextContent(LATEST);
    expect(backend.callsOf("transfer_pull")).toHaveLength(1);

    await user.click(within(confirm).getByRole("button", { name: "Replace" }));
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(2));
    expect(backend.callsOf("transfer_pull")[1].request).toMatchObject({ reference: LATEST, force: true });
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Pull started")));
  });

  test("keeping the file in the way drops the pull", async () => {
    const { backend, user } = await openContainer({
      pullFolder: PULL_FOLDER,
      existingFiles: [`${PULL_FOLDER}/busybox_latest.sif`],
    });
    await user.click(within(imageRow(HASH_A)).getByTestId("image-pull-button"));
    await screen.findByTestId("confirm-dialog");
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("transfer_pull")).toHaveLength(1);
  });

  test("other refusals are told in a toast", async () => {
    const { user } = await openContainer({
      handlers: {
        transfer_pull: () => {
          throw { code: "remote.no_default", message: "no remote given and no default remote is set", hint: "Add a remote." };
        },
      },
    });
    await user.click(within(imageRow(HASH_A)).getByTestId("image-pull-button"));
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining(`Could not pull ${LATEST}`)));
  });
});

describe("Pull page", () => {
  async function openPull(options: Options = {}) {
    const app = await start(options);
    await app.user.click(screen.getByTestId("nav-pull"));
    await screen.findByTestId("pull-ref");
    return app;
  }

  test("sends the reference, arch, remote and choices; Enter submits", async () => {
    const { backend, user } = await openPull({ pullFolder: PULL_FOLDER });
    expect(screen.getByTestId("pull-folder")).toHaveTextContent(PULL_FOLDER);
    expect(screen.getByTestId("pull-verify")).toBeChecked();
    expect(screen.getByTestId("pull-force")).not.toBeChecked();
    expect(screen.getByTestId("pull-arch")).toHaveValue("");
    expect(
      within(screen.getByTestId("pull-arch"))
        .getAllByRole("option")
        .map((o) => o.textContent),
    ).toEqual(["This machine's", "amd64", "arm64", "ppc64le", "s390x", "386"]);

    await user.selectOptions(screen.getByTestId("pull-arch"), "arm64");
    await user.click(screen.getByTestId("pull-verify"));
    await user.click(screen.getByTestId("pull-force"));
    await user.type(screen.getByTestId("pull-ref"), "  library://lab/tools/bwa:1.0 {Enter}");
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(1));
    expect(backend.callsOf("transfer_pull")[0]).toEqual({
      request: {
        remote: null,
        reference: "library://lab/tools/bwa:1.0",
        arch: "arm64",
        destination: null,
        force: true,
        noCache: false,
        verify: false,
      },
    });
    await waitFor(() => expect(screen.getByTestId("pull-ref")).toHaveValue(""));
    expect(toastTexts()).toContainEqual(expect.stringContaining("Pull library://lab/tools/bwa:1.0"));
    expect(await screen.findByTestId("transfers-strip")).toBeInTheDocument();

    // With several remotes, one may be chosen instead of the default.
    await user.selectOptions(screen.getByTestId("pull-remote"), "site");
    await user.selectOptions(screen.getByTestId("pull-arch"), "");
    await user.type(screen.getByTestId("pull-ref"), "lab/tools/bwa");
    await user.click(screen.getByTestId("pull-submit"));
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(2));
    expect(backend.callsOf("transfer_pull")[1].request).toMatchObject({ remote: "site", reference: "lab/tools/bwa", arch: null });
  });

  test("oras:// and shub:// pull a SIF from a registry, with its signatures checked; other schemes are refused in place", async () => {
    const { backend, user } = await openPull({ pullFolder: PULL_FOLDER });
    await user.type(screen.getByTestId("pull-ref"), "oras://ghcr.io/lab/app:1.0");
    expect(screen.getByTestId("pull-kind")).toHaveTextContent("SIF image stored in an OCI registry (oras).");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("app_1.0.sif");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(1));
    expect(backend.callsOf("transfer_pull")[0].request).toMatchObject({
      remote: null,
      reference: "oras://ghcr.io/lab/app:1.0",
      verify: true,
    });

    await user.clear(screen.getByTestId("pull-ref"));
    await user.type(screen.getByTestId("pull-ref"), "shub://vsoch/hello-world");
    expect(screen.getByTestId("pull-kind")).toHaveTextContent("SIF image from a Singularity Hub registry.");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("hello-world_latest.sif");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(2));
    expect(backend.callsOf("transfer_pull")[1].request).toMatchObject({ remote: null, reference: "shub://vsoch/hello-world" });

    await user.clear(screen.getByTestId("pull-ref"));
    await user.type(screen.getByTestId("pull-ref"), "http://example.org/x.sif{Enter}");
    expect(screen.getByTestId("pull-ref-problem")).toHaveTextContent(
      "Berth pulls library://, docker://, oras:// and shub:// references, not http://.",
    );
    expect(screen.getByTestId("pull-ref")).toHaveAttribute("aria-invalid", "true");
    expect(backend.callsOf("transfer_pull")).toHaveLength(2);
  });

  test("a docker:// reference is a Docker/OCI image: no remote, the arch and the name it is saved under", async () => {
    const { backend, user } = await openPull({ pullFolder: PULL_FOLDER });
    // Several remotes: the remote choice is there for library references…
    expect(screen.getByTestId("pull-remote")).toBeInTheDocument();
    await user.selectOptions(screen.getByTestId("pull-remote"), "site");
    await user.type(screen.getByTestId("pull-ref"), "docker://alpine");
    expect(screen.getByTestId("pull-kind")).toHaveTextContent("Docker/OCI image, converted to SIF.");
    expect(screen.getByTestId("pull-ref")).toHaveAttribute("aria-invalid", "false");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("Saved as alpine_latest.sif");
    // …and not for registry images, nor signature checks (a converted image has none).
    expect(screen.queryByTestId("pull-remote")).not.toBeInTheDocument();
    expect(screen.queryByTestId("pull-verify")).not.toBeInTheDocument();
    await user.type(screen.getByTestId("pull-ref"), ":3.19 ");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("Saved as alpine_3.19.sif");
    await user.selectOptions(screen.getByTestId("pull-arch"), "arm64");
    await user.click(screen.getByTestId("pull-submit"));

    await waitFor(() => expect(backend.callsOf("transfer_pull")).toHaveLength(1));
    expect(backend.callsOf("transfer_pull")[0]).toEqual({
      request: {
        remote: null,
        reference: "docker://alpine:3.19",
        arch: "arm64",
        destination: null,
        force: false,
        noCache: false,
        verify: false,
      },
    });
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Pull docker://alpine:3.19")));
    expect(backend.state.jobs[0]).toMatchObject({ remote: "docker.io", destination: `${PULL_FOLDER}/alpine_3.19.sif` });
    // The field empties: the remote choice and the check come back, as they were.
    await waitFor(() => expect(screen.getByTestId("pull-ref")).toHaveValue(""));
    expect(screen.getByTestId("pull-remote")).toHaveValue("site");
    expect(screen.getByTestId("pull-verify")).toBeChecked();
  });

  test("the file name shows for library references with or without a tag, not for an id or a digest", async () => {
    const { user } = await openPull();
    const field = screen.getByTestId("pull-ref");
    expect(screen.queryByTestId("pull-file-name")).not.toBeInTheDocument();
    await user.type(field, "lab/tools/bwa");
    expect(screen.getByTestId("pull-kind")).toHaveTextContent("Library image.");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("Saved as bwa_latest.sif");
    await user.type(field, ":0.7.17");
    expect(screen.getByTestId("pull-file-name")).toHaveTextContent("Saved as bwa_0.7.17.sif");
    await user.clear(field);
    await user.type(field, `library://lab/tools/bwa:${HASH_A}`);
    expect(screen.queryByTestId("pull-file-name")).not.toBeInTheDocument();
    await user.clear(field);
    await user.type(field, `docker://ghcr.io/lab/app@sha256:${"c".repeat(64)}`);
    expect(screen.getByTestId("pull-kind")).toHaveTextContent("Docker/OCI image");
    expect(screen.queryByTestId("pull-file-name")).not.toBeInTheDocument();
  });

  test("an empty reference is pointed out only after trying", async () => {
    const { backend, user } = await openPull();
    expect(screen.queryByTestId("pull-ref-problem")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("pull-submit"));
    expect(screen.getByTestId("pull-ref-problem")).toHaveTextContent("Enter a reference to pull");
    expect(screen.getByTestId("pull-ref")).toHaveFocus();
    expect(backend.callsOf("transfer_pull")).toHaveLength(0);
  });

  test("the backend's refusal is shown in place with its hint", async () => {
    const { user } = await openPull({ pullFolder: PULL_FOLDER });
    await user.type(screen.getByTestId("pull-ref"), "library://lab{Enter}");
    const error = await screen.findByTestId("pull-error");
    expect(error).toHaveAttribute("data-code", "ref.invalid");
    expect(error).toHaveTextContent("library://lab: not a library reference");
    expect(error).toHaveTextContent("Write library://entity/collection/container:tag.");
    expect(screen.getByTestId("pull-ref")).toHaveValue("library://lab");
  });

  test("Choose… sets the folder for pulled images", async () => {
    const { backend, user } = await openPull({ handlers: { "plugin:dialog|open": () => "/scratch/sif" } });
    expect(screen.getByTestId("pull-folder")).toHaveTextContent("Not chosen yet");
    await user.click(screen.getByTestId("pull-folder-change"));
    await waitFor(() => expect(screen.getByTestId("pull-folder")).toHaveTextContent("/scratch/sif"));
    expect(backend.callsOf("settings_set_pull_folder")).toEqual([{ folder: "/scratch/sif" }]);
    expect(screen.getByTestId("pull-folder-change")).toHaveTextContent("Change…");
  });
});
