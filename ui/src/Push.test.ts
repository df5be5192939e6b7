import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import { BUSYBOX, emptyCatalog, pushPlan, sampleCatalog, sampleLibrary, sampleRemotes } from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function start(options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), remotes: sampleRemotes(), library: sampleLibrary(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  return { backend, user };
}

/** Open the push dialog from the busybox image's detail pane. */
async function openPushDialog(options: Options = {}) {
  const app = await start(options);
  const row = screen.getAllByTestId("image-row").find((r) => r.dataset.path === BUSYBOX);
  if (!row) throw new Error("no busybox row");
  await app.user.click(row);
  await app.user.click(await within(await screen.findByTestId("detail-pane")).findByTestId("push-button"));
  const dialog = await screen.findByTestId("push-dialog");
  return { ...app, dialog };
}

/** Type a destination and wait for the plan of it. */
async function planFor(user: ReturnType<typeof userEvent.setup>, destination: string) {
  await user.type(screen.getByTestId("push-destination"), destination);
  return screen.findByTestId("push-plan");
}

describe("push dialog", () => {
  test("looks at the destination once typing pauses, shows the plan, and pushes what was asked", async () => {
    const { backend, user, dialog } = await openPushDialog();
    expect(within(dialog).getByRole("heading")).toHaveTextContent("Push busybox_amd64.sif");
    expect(screen.getByTestId("push-remote")).toHaveValue("SylabsCloud");
    expect(screen.getByTestId("push-tags")).toHaveValue("latest");
    expect(screen.getByTestId("push-destination")).toHaveFocus();
    // Nothing to look at before a destination is typed.
    expect(backend.callsOf("transfer_push_plan")).toHaveLength(0);
    expect(screen.getByTestId("push-submit")).toBeDisabled();

    const plan = await planFor(user, "library://lab/tools/bwa");
    // One look for the whole typed reference, not one per key.
    expect(backend.callsOf("transfer_push_plan")).toEqual([
      { remote: "SylabsCloud", file: BUSYBOX, reference: "library://lab/tools/bwa:latest" },
    ]);
    expect(plan).toHaveTextContent("1000.0 MiB");
    expect(plan).toHaveTextContent("amd64");
    expect(within(plan).getByTestId("push-plan-reference")).toHaveTextContent("library://lab/tools/bwa:latest");
    expect(within(plan).getByTestId("push-signature")).toHaveTextContent("Signed by Ana Example <ana@example.org>");
    expect(within(plan).getByTestId("push-quota")).toHaveTextContent("Using 2.0 GiB of 11.0 GiB; 8.0 GiB left after this push.");
    expect(within(plan).queryByTestId("push-allow-unsigned")).not.toBeInTheDocument();
    expect(within(plan).queryByTestId("push-private")).not.toBeInTheDocument();
    expect(screen.getByTestId("push-arch")).toHaveValue("amd64");

    await user.clear(screen.getByTestId("push-tags"));
    await user.type(screen.getByTestId("push-tags"), "1.0, latest");
    await waitFor(() => expect(backend.callsOf("transfer_push_plan")).toHaveLength(2));
    expect(backend.callsOf("transfer_push_plan")[1].reference).toBe("library://lab/tools/bwa:1.0,latest");
    await user.type(screen.getByTestId("push-description"), "BWA 0.7 ");
    await waitFor(() => expect(screen.getByTestId("push-submit")).toBeEnabled());
    await user.click(screen.getByTestId("push-submit"));

    await waitFor(() => expect(screen.queryByTestId("push-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("transfer_push")).toEqual([
      {
        request: {
          remote: "SylabsCloud",
          file: BUSYBOX,
          reference: "library://lab/tools/bwa:1.0,latest",
          description: "BWA 0.7",
          arch: "amd64",
          allowUnsigned: false,
          private: false,
        },
      },
    ]);
    const toast = screen.getAllByTestId("toast").find((t) => t.textContent?.includes("Push started"));
    expect(toast).toHaveTextContent("Push busybox_amd64.sif to library://lab/tools/bwa:1.0,latest");
    // The new job is in the strip and on the Transfers page.
    expect(await screen.findByTestId("transfers-strip")).toHaveTextContent("1 transfer running");
    await user.click(screen.getByTestId("transfers-strip-open"));
    expect(await screen.findByTestId("job-card")).toHaveAttribute("data-state", "running");
  });

  test("an unsigned image needs an explicit “Push anyway”, which is sent as allowUnsigned", async () => {
    const { backend, user } = await openPushDialog({
      pushPlan: (remote, file, reference) =>
        pushPlan({ remote, file, reference, signature: "unsigned", signatureSummary: "The image has no signatures." }),
    });
    const plan = await planFor(user, "library://lab/tools/bwa");
    const signature = within(plan).getByTestId("push-signature");
    expect(signature).toHaveAttribute("data-state", "unsigned");
    expect(signature).toHaveTextContent("The image has no signatures.");
    expect(screen.getByTestId("push-submit")).toBeDisabled();

    await user.click(within(plan).getByRole("checkbox", { name: "Push anyway (unsigned)" }));
    expect(screen.getByTestId("push-submit")).toBeEnabled();
    await user.click(screen.getByTestId("push-submit"));
    await waitFor(() => expect(backend.callsOf("transfer_push")).toHaveLength(1));
    expect(backend.callsOf("transfer_push")[0].request).toMatchObject({ allowUnsigned: true });
  });

  test("signatures that do not verify ask the same, worded as unverified", async () => {
    const { user } = await openPushDialog({
      pushPlan: (remote, file, reference) =>
        pushPlan({ remote, file, reference, signature: "invalid", signatureSummary: "Object 4 changed after it was signed." }),
    });
    const plan = await planFor(user, "library://lab/tools/bwa");
    expect(within(plan).getByTestId("push-signature")).toHaveTextContent("The image changed after it was signed.");
    expect(within(plan).getByRole("checkbox", { name: "Push anyway (unverified)" })).not.toBeChecked();
    expect(screen.getByTestId("push-submit")).toBeDisabled();
  });

  test("a push over the quota is blocked and says why", async () => {
    const { backend, user } = await openPushDialog({
      pushPlan: (remote, file, reference) =>
        pushPlan({
          remote,
          file,
          reference,
          quotaTotal: 1024 ** 3,
          quotaUsed: 512 * 1024 ** 2,
          quotaLeftAfter: -488 * 1024 ** 2,
          overQuota: true,
          warnings: ["The image (1000.0 MiB) is larger than the 512.0 MiB left of your quota."],
        }),
    });
    const plan = await planFor(user, "library://lab/tools/bwa");
    expect(within(plan).getByTestId("push-over-quota")).toHaveTextContent("would go over your storage quota on SylabsCloud");
    expect(within(plan).getByTestId("push-quota")).toHaveTextContent("Using 512.0 MiB of 1.0 GiB; 488.0 MiB short.");
    expect(within(plan).getByTestId("push-warnings")).toHaveTextContent("larger than the 512.0 MiB left of your quota");
    expect(screen.getByTestId("push-submit")).toBeDisabled();
    await user.type(screen.getByTestId("push-description"), "{Enter}");
    expect(backend.callsOf("transfer_push")).toHaveLength(0);
  });

  test("new records may be made private; the choice is only offered when something is created", async () => {
    const { backend, user } = await openPushDialog({
      pushPlan: (remote, file, reference) =>
        pushPlan({ remote, file, reference, creates: ["lab/newtools", "lab/newtools/bwa"], warnings: ["The new collection lab/newtools will be public."] }),
    });
    const plan = await planFor(user, "library://lab/newtools/bwa");
    expect(within(plan).getByTestId("push-creates")).toHaveTextContent("Creates lab/newtools, lab/newtools/bwa");
    await user.click(within(plan).getByTestId("push-private"));
    await user.click(screen.getByTestId("push-submit"));
    await waitFor(() => expect(backend.callsOf("transfer_push")).toHaveLength(1));
    expect(backend.callsOf("transfer_push")[0].request).toMatchObject({ private: true, reference: "library://lab/newtools/bwa:latest" });
  });

  test("a chosen architecture wins over the image's own", async () => {
    const { backend, user } = await openPushDialog();
    await planFor(user, "library://lab/tools/bwa");
    await user.selectOptions(screen.getByTestId("push-arch"), "arm64");
    await user.click(screen.getByTestId("push-submit"));
    await waitFor(() => expect(backend.callsOf("transfer_push")).toHaveLength(1));
    expect(backend.callsOf("transfer_push")[0].request).toMatchObject({ arch: "arm64" });
  });

  test("a refused token is shown in place with what to do, and leads to Remotes", async () => {
    const { user } = await openPushDialog({
      handlers: {
        transfer_push_plan: () => {
          throw { code: "auth.token_invalid", message: "SylabsCloud refused your token.", hint: "Generate a new access token and log in again." };
        },
      },
    });
    await user.type(screen.getByTestId("push-destination"), "library://lab/tools/bwa");
    const error = await screen.findByTestId("push-plan-error");
    expect(error).toHaveTextContent("Berth cannot push there");
    expect(error).toHaveTextContent("SylabsCloud refused your token.");
    expect(error).toHaveTextContent("Generate a new access token and log in again.");
    expect(screen.getByTestId("push-submit")).toBeDisabled();
    await user.click(within(error).getByRole("button", { name: "Open Remotes" }));
    expect(screen.queryByTestId("push-dialog")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-remotes")).toHaveAttribute("aria-current", "page");
  });

  test("a remote without a login says so before anything is tried", async () => {
    const { user } = await openPushDialog();
    await user.selectOptions(screen.getByTestId("push-remote"), "site");
    expect(screen.getByTestId("push-not-logged-in")).toHaveTextContent("You are not logged in to site");
  });

  test("Escape closes the dialog without pushing", async () => {
    const { backend, user } = await openPushDialog();
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("push-dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("transfer_push")).toHaveLength(0);
  });
});

describe("dropping a SIF on the window", () => {
  test("asks whether to push it or add it, and “Push to a library…” opens the push dialog", async () => {
    const { backend, user } = await start({ catalog: emptyCatalog() });
    await screen.findByTestId("empty-state");
    await backend.drag("enter", ["/drop/bwa.sif"]);
    expect(await screen.findByTestId("drop-overlay")).toHaveTextContent("Drop to push or add to Local images");
    await backend.drag("drop", ["/drop/bwa.sif"]);

    const chooser = await screen.findByTestId("drop-chooser");
    expect(chooser).toHaveTextContent("Push to a library or add to Local images?");
    expect(chooser).toHaveTextContent("bwa.sif");
    expect(within(chooser).queryByTestId("drop-push-here")).not.toBeInTheDocument();
    expect(within(chooser).getByTestId("drop-push")).toHaveFocus();
    // Keyboard: Tab moves to the next choice; Enter picks it.
    await user.keyboard("{Tab}");
    expect(within(chooser).getByTestId("drop-add")).toHaveFocus();
    await user.keyboard("{Shift>}{Tab}{/Shift}{Enter}");

    expect(await screen.findByTestId("push-dialog")).toBeInTheDocument();
    expect(screen.getByTestId("push-file")).toHaveTextContent("/drop/bwa.sif");
    expect(screen.queryByTestId("drop-chooser")).not.toBeInTheDocument();
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(0);
  });

  test("Escape leaves the dropped file alone", async () => {
    const { backend, user } = await start({ catalog: emptyCatalog() });
    await screen.findByTestId("empty-state");
    await backend.drag("drop", ["/drop/bwa.sif"]);
    await screen.findByTestId("drop-chooser");
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("drop-chooser")).not.toBeInTheDocument();
    expect(screen.queryByTestId("push-dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(0);
  });

  test("a drop while a dialog is open waits for the dialog", async () => {
    const { backend } = await openPushDialog();
    await backend.drag("enter", ["/drop/bwa.sif"]);
    await backend.drag("drop", ["/drop/bwa.sif"]);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(screen.queryByTestId("drop-chooser")).not.toBeInTheDocument();
    expect(screen.getByTestId("push-file")).toHaveTextContent(BUSYBOX);
  });

  test("a folder is added at once, as before", async () => {
    const { backend } = await start({ catalog: emptyCatalog() });
    await screen.findByTestId("empty-state");
    await backend.drag("enter", ["/srv/images/"]);
    expect(await screen.findByTestId("drop-overlay")).toHaveTextContent("Drop to add to Local images");
    await backend.drag("drop", ["/srv/images/"]);
    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/srv/images/"] }]));
    expect(screen.queryByTestId("drop-chooser")).not.toBeInTheDocument();
  });

  async function openBusyboxContainer(user: ReturnType<typeof userEvent.setup>) {
    await user.click(screen.getByTestId("nav-library"));
    await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
    await user.click(screen.getByTestId("library-entity-go"));
    await user.click(await screen.findByRole("button", { name: "tools" }));
    await user.click(await screen.findByRole("button", { name: "busybox" }));
    await screen.findByTestId("container-detail");
  }

  test("on a container in the Library, the first choice pushes there", async () => {
    const { backend, user } = await start();
    await openBusyboxContainer(user);
    await backend.drag("enter", ["/drop/busybox-1.37.sif"]);
    expect(await screen.findByTestId("drop-overlay")).toHaveTextContent(
      "Drop to push to library://ana/tools/busybox or add to Local images",
    );
    await backend.drag("drop", ["/drop/busybox-1.37.sif"]);
    const here = await screen.findByTestId("drop-push-here");
    expect(here).toHaveTextContent("Push to library://ana/tools/busybox");
    expect(here).toHaveFocus();
    await user.click(here);

    await screen.findByTestId("push-dialog");
    expect(screen.getByTestId("push-remote")).toHaveValue("SylabsCloud");
    expect(screen.getByTestId("push-destination")).toHaveValue("library://ana/tools/busybox");
    // The prefilled destination is looked at straight away.
    await waitFor(() =>
      expect(backend.callsOf("transfer_push_plan")).toEqual([
        { remote: "SylabsCloud", file: "/drop/busybox-1.37.sif", reference: "library://ana/tools/busybox:latest" },
      ]),
    );
  });

  test("on the Library page, “Add to Local images” adds the file and shows it there", async () => {
    const { backend, user } = await start();
    await openBusyboxContainer(user);
    await backend.drag("drop", ["/drop/busybox-1.37.sif"]);
    await user.click(await screen.findByTestId("drop-add"));
    await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/drop/busybox-1.37.sif"] }]));
    await waitFor(() => expect(screen.getByTestId("nav-local-images")).toHaveAttribute("aria-current", "page"));
    expect(screen.getAllByTestId("toast").map((t) => t.textContent)).toContainEqual(
      expect.stringContaining("Added busybox-1.37.sif to Local images"),
    );
  });

  test("“Push a SIF here…” on a container picks a file and prefills the dialog", async () => {
    const { backend, user } = await start({ handlers: { "plugin:dialog|open": () => "/home/ana/images/new.sif" } });
    await openBusyboxContainer(user);
    await user.click(screen.getByTestId("container-push-button"));
    await screen.findByTestId("push-dialog");
    expect(backend.callsOf("plugin:dialog|open")[0].options).toMatchObject({ multiple: false });
    expect(screen.getByTestId("push-file")).toHaveTextContent("/home/ana/images/new.sif");
    expect(screen.getByTestId("push-destination")).toHaveValue("library://ana/tools/busybox");
  });
});
