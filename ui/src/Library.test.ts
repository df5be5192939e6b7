import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import { ANA_FP, GOOD_TOKEN, HASH_A, HASH_B, sampleCatalog, sampleLibrary, sampleRemotes } from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function openLibrary(options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), remotes: sampleRemotes(), library: sampleLibrary(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-library"));
  return { backend, user };
}

function rowOf(testid: string, attr: string, value: string): HTMLElement {
  const found = screen.getAllByTestId(testid).find((r) => r.getAttribute(attr) === value);
  if (!found) throw new Error(`no ${testid} with ${attr}=${value}`);
  return found;
}

describe("library page", () => {
  test("without remotes it teaches what to do and leads to Remotes", async () => {
    const { user } = await openLibrary({ remotes: [] });
    const empty = await screen.findByTestId("library-empty");
    expect(empty).toHaveTextContent(
      "No remotes yet — add Sylabs Cloud or your site's library, or import from Apptainer",
    );
    await user.click(within(empty).getByTestId("library-add-remote"));
    expect(screen.getByTestId("nav-remotes")).toHaveAttribute("aria-current", "page");
    expect(await screen.findByTestId("add-remote-button")).toBeInTheDocument();
  });

  test("browses entity → collection → container from the logged-in user's entity", async () => {
    const { backend, user } = await openLibrary();
    // The default remote is chosen and its logged-in entity fills the field.
    await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
    expect(screen.getByTestId("library-remote")).toHaveValue("SylabsCloud");
    await user.click(screen.getByTestId("library-entity-go"));
    await waitFor(() => expect(screen.getAllByTestId("collection-row")).toHaveLength(2));
    expect(backend.callsOf("library_collections")).toEqual([{ remote: "SylabsCloud", entity: "ana" }]);

    await user.click(within(rowOf("collection-row", "data-name", "tools")).getByRole("button", { name: "tools" }));
    await waitFor(() => expect(screen.getAllByTestId("container-row")).toHaveLength(2));
    expect(backend.callsOf("library_containers")).toEqual([{ remote: "SylabsCloud", entity: "ana", collection: "tools" }]);
    expect(screen.getByTestId("library-breadcrumb")).toHaveTextContent(/SylabsCloud\s*\/\s*ana\s*\/\s*tools/);

    await user.click(within(rowOf("container-row", "data-name", "busybox")).getByRole("button", { name: "busybox" }));
    const detail = await screen.findByTestId("container-detail");
    expect(backend.callsOf("library_container")).toEqual([
      { remote: "SylabsCloud", entity: "ana", collection: "tools", container: "busybox" },
    ]);
    expect(within(detail).getByTestId("container-description")).toHaveTextContent("Built from busybox:1.36.");
    const a = rowOf("image-row-lib", "data-hash", HASH_A);
    expect(a).toHaveTextContent("sha256.aa11bb22cc33");
    expect(a).toHaveTextContent("latest");
    expect(a).toHaveTextContent("amd64");
    expect(a.querySelector('[data-badge="signed"]')).not.toBeNull();
    expect(a).toHaveTextContent(ANA_FP);
    const b = rowOf("image-row-lib", "data-hash", HASH_B);
    expect(b.querySelector('[data-badge="unsigned"]')).not.toBeNull();
    expect(within(a).getByRole("button", { name: "Copy reference by hash" })).toBeInTheDocument();

    // Back up through the breadcrumb.
    await user.click(within(screen.getByTestId("library-breadcrumb")).getByRole("button", { name: "ana" }));
    await waitFor(() => expect(screen.getAllByTestId("collection-row")).toHaveLength(2));
  });

  test("deleting an image asks once, naming the exact reference, then refreshes", async () => {
    const { backend, user } = await openLibrary();
    await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
    await user.click(screen.getByTestId("library-entity-go"));
    await user.click(await screen.findByRole("button", { name: "tools" }));
    await user.click(await screen.findByRole("button", { name: "busybox" }));
    const b = await waitFor(() => rowOf("image-row-lib", "data-hash", HASH_B));
    await user.click(within(b).getByTestId("image-delete-button"));
    const ref = `library://cloud.sylabs.io/ana/tools/busybox:${HASH_B}`;
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent(ref);
    await user.click(document.getElementById("confirm-ok")!);
    await waitFor(() => expect(screen.getAllByTestId("image-row-lib")).toHaveLength(1));
    expect(backend.callsOf("library_delete")).toEqual([{ remote: "SylabsCloud", reference: ref, arch: "arm64" }]);
    expect(backend.callsOf("library_container")).toHaveLength(2);
  });

  test("search passes the arch and signed filters and links containers into the browser", async () => {
    const { backend, user } = await openLibrary();
    await user.type(await screen.findByTestId("library-search-input"), "busy");
    await user.selectOptions(screen.getByTestId("library-search-arch"), "amd64");
    await user.click(screen.getByTestId("library-search-signed"));
    await user.click(screen.getByTestId("library-search-button"));
    const results = await screen.findByTestId("search-results");
    expect(backend.callsOf("library_search")).toEqual([{ remote: "SylabsCloud", query: "busy", arch: "amd64", signed: true }]);
    await waitFor(() => expect(within(results).getAllByTestId("search-image")).toHaveLength(1));
    expect(within(results).getByTestId("search-image")).toHaveTextContent("library://cloud.sylabs.io/ana/tools/busybox:latest");

    await user.click(within(results).getByRole("button", { name: "ana/tools/busybox" }));
    await screen.findByTestId("container-detail");
    expect(backend.callsOf("library_container")).toEqual([
      { remote: "SylabsCloud", entity: "ana", collection: "tools", container: "busybox" },
    ]);

    // Any arch sends null.
    await user.selectOptions(screen.getByTestId("library-search-arch"), "");
    await user.click(screen.getByTestId("library-search-signed"));
    await user.click(screen.getByTestId("library-search-button"));
    await waitFor(() => expect(backend.callsOf("library_search")).toHaveLength(2));
    expect(backend.callsOf("library_search")[1]).toEqual({ remote: "SylabsCloud", query: "busy", arch: null, signed: false });
  });

  test("a refused token shows the error with “Log in again”, and logging in retries", async () => {
    let expired = true;
    const { backend, user } = await openLibrary({
      handlers: {
        library_collections: (args) => {
          if (expired) {
            throw { code: "auth.token_invalid", message: "Your token was refused.", hint: "Log in again with a new token." };
          }
          return backend.defaults.library_collections(args);
        },
      },
    });
    await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
    await user.click(screen.getByTestId("library-entity-go"));
    const error = await screen.findByTestId("library-error");
    expect(error).toHaveTextContent("Your token was refused.");
    expect(error).toHaveTextContent("Log in again with a new token.");
    expired = false;
    await user.click(within(error).getByRole("button", { name: "Log in again" }));
    await user.type(screen.getByTestId("login-token"), GOOD_TOKEN);
    await user.click(screen.getByTestId("login-submit"));
    await waitFor(() => expect(screen.getAllByTestId("collection-row")).toHaveLength(2));
    expect(backend.callsOf("remote_login")).toEqual([{ name: "SylabsCloud", token: GOOD_TOKEN }]);
  });

  test("other errors say what happened without a login button", async () => {
    const { user } = await openLibrary();
    await waitFor(() => expect(screen.getByTestId("library-entity")).toHaveValue("ana"));
    await user.clear(screen.getByTestId("library-entity"));
    await user.type(screen.getByTestId("library-entity"), "nobody");
    await user.click(screen.getByTestId("library-entity-go"));
    const error = await screen.findByTestId("library-error");
    expect(error).toHaveAttribute("data-code", "library.not_found");
    expect(within(error).queryByRole("button", { name: "Log in again" })).not.toBeInTheDocument();
  });
});
