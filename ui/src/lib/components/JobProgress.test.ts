import { render, screen, within } from "@testing-library/svelte";
import { expect, test } from "vitest";
import { job } from "../../test/fixtures";
import JobProgress from "./JobProgress.svelte";

const MIB = 1024 * 1024;

test("a docker pull shows each layer, cached ones complete", () => {
  render(JobProgress, {
    job: job("pull-1", {
      kind: "pull",
      phase: "downloading",
      bytesDone: 6 * MIB,
      bytesTotal: 30 * MIB,
      parts: [
        { label: "0123456789ab", done: 10 * MIB, total: 10 * MIB },
        { label: "abcdefabcdef", done: 6 * MIB, total: 20 * MIB },
        { label: "ffffeeeedddd", done: 0, total: 10 * MIB },
      ],
    }),
  });
  const parts = screen.getByTestId("job-parts");
  expect(parts).toHaveTextContent("Layers: 1 of 3 done");
  const rows = within(parts).getAllByTestId("job-part");
  expect(rows.map((r) => r.dataset.done)).toEqual(["true", "false", "false"]);
  expect(rows[1]).toHaveTextContent("abcdefabcdef");
  const bar = within(rows[1]).getByRole("progressbar");
  expect(bar).toHaveAttribute("aria-valuenow", "30");
});

test("a one-piece phase has no layer list", () => {
  render(JobProgress, { job: job("push-1", { parts: [{ label: "x", done: 0, total: 1 }] }) });
  expect(screen.queryByTestId("job-parts")).toBeNull();
});
