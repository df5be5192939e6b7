import { undo } from "@codemirror/commands";
import { forEachDiagnostic, type Diagnostic } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { render } from "@testing-library/svelte";
import { expect, test } from "vitest";
import { editorIssues } from "../build";
import DefinitionEditor from "./DefinitionEditor.svelte";

const TEXT = "Bootstrap: docker\nFrom: ubuntu\n%bogus\n  note 😀 here\n";

function setup(issues = editorIssues(TEXT, { errors: [], warnings: [], bootstrap: null, from: null, stages: 0, localBuildable: false, executingSections: [], localReason: null, relativeFilesLine: null, placeholders: [] })) {
  const changes: string[] = [];
  const result = render(DefinitionEditor, { text: TEXT, issues, label: "Definition file x.def", onchange: (t: string) => changes.push(t) });
  const content = result.container.querySelector<HTMLElement>(".cm-content");
  if (!content) throw new Error("no editor");
  const view = EditorView.findFromDOM(content);
  if (!view) throw new Error("no view");
  return { ...result, content, view, changes };
}

test("shows the text with line numbers and tells each edit", () => {
  const { content, view, changes } = setup();
  expect(content).toHaveAttribute("aria-label", "Definition file x.def");
  expect(view.state.doc.toString()).toBe(TEXT);
  view.dispatch({ changes: { from: 0, insert: "# top\n" } });
  expect(changes).toEqual([`# top\n${TEXT}`]);
});

test("marks errors and warnings with the message and the hint", () => {
  const issues = editorIssues(TEXT, {
    errors: [{ line: 3, column: 1, code: "def.unknown_section", message: "unknown section %bogus", hint: "Use %post." }],
    warnings: [{ line: 2, column: 7, code: "def.w", message: "no tag", hint: null }],
    bootstrap: null,
    from: null,
    stages: 0,
    localBuildable: false,
    executingSections: [],
    localReason: null,
    relativeFilesLine: null,
    placeholders: [],
  });
  const { container, view } = setup(issues);
  expect(container.querySelector(".cm-lintRange-error")).toHaveTextContent("%bogus");
  expect(container.querySelector(".cm-lintRange-warning")).toHaveTextContent("ubuntu");
  const found: Diagnostic[] = [];
  forEachDiagnostic(view.state, (d) => found.push(d));
  const error = found.find((d) => d.severity === "error");
  expect(error?.message).toBe("unknown section %bogus Use %post.");
  expect(error?.renderMessage?.(view)).toHaveTextContent("unknown section %bogusUse %post.def.unknown_section");
});

test("setText starts afresh (nothing to undo); goTo counts columns in characters", async () => {
  const { component, view, changes } = setup();
  component.setText("Bootstrap: scratch\n%labels\n  a 😀😀 b\n");
  expect(changes.at(-1)).toBe("Bootstrap: scratch\n%labels\n  a 😀😀 b\n");
  const current = EditorView.findFromDOM(view.contentDOM) ?? view;
  expect(undo(current)).toBe(false);
  component.goTo(3, 8);
  const head = current.state.selection.main.head;
  expect(current.state.doc.sliceString(head, head + 1)).toBe("b");
  expect(current.hasFocus).toBe(true);
  expect(component.getText()).toBe("Bootstrap: scratch\n%labels\n  a 😀😀 b\n");
});
