/**
 * Apptainer definition files for CodeMirror: the header's `Key: value` lines, `%section`
 * lines, comments, and inside sections the strings and variables of their shell code.
 */
import { HighlightStyle, StreamLanguage, type StreamParser } from "@codemirror/language";
import { tags } from "@lezer/highlight";

type State = {
  /** The section the line is in, lower case without `%`; null in the header. */
  section: string | null;
  /** The line's `Key:` or `%section` was read: the rest is its value or arguments. */
  inValue: boolean;
  /** The line's first word was read (for `%labels`, where it is the label's name). */
  wordSeen: boolean;
};

/** Sections whose body is shell code. */
const SHELL = new Set(["setup", "post", "environment", "runscript", "startscript", "test", "appinstall", "appenv", "apprun"]);

export const definitionParser: StreamParser<State> = {
  name: "apptainer-definition",
  startState: () => ({ section: null, inValue: false, wordSeen: false }),
  copyState: (s) => ({ ...s }),
  token(stream, state) {
    if (stream.sol()) {
      state.inValue = false;
      state.wordSeen = false;
      const section = stream.match(/^%[A-Za-z]+/);
      if (section) {
        state.section = (section as RegExpMatchArray)[0].slice(1).toLowerCase();
        // The rest of a section line is its arguments (an app's name, `from stage`).
        state.inValue = true;
        return "heading";
      }
    }
    if (stream.eatSpace()) return null;
    const ch = stream.peek();
    if (ch === "#") {
      stream.skipToEnd();
      return "comment";
    }
    if (state.section === null) {
      if (!state.inValue && stream.match(/^[A-Za-z][A-Za-z0-9]*\s*:/)) {
        state.inValue = true;
        return "keyword";
      }
      stream.eatWhile(/[^#]/);
      return "string";
    }
    if (state.inValue) {
      stream.eatWhile(/[^#]/);
      return "labelName";
    }
    if (state.section === "labels" && !state.wordSeen) {
      state.wordSeen = true;
      stream.eatWhile(/\S/);
      return "propertyName";
    }
    state.wordSeen = true;
    if (SHELL.has(state.section)) {
      if (ch === '"' || ch === "'") {
        stream.next();
        let escaped = false;
        let c: string | void;
        while ((c = stream.next()) !== undefined) {
          if (c === ch && !escaped) break;
          escaped = !escaped && c === "\\" && ch === '"';
        }
        return "string";
      }
      if (stream.match(/^\$\{[^}]*\}/) || stream.match(/^\$[A-Za-z_][A-Za-z0-9_]*/) || stream.match(/^\$[@*#?$!0-9]/)) {
        return "variableName";
      }
      if (stream.match(/^(?:export|exec|if|then|else|fi|for|do|done|while|case|esac|in)\b/)) return "keyword";
    }
    stream.next();
    stream.eatWhile(/[^\s#"'$]/);
    return null;
  },
  languageData: { commentTokens: { line: "#" } },
};

export const definitionLanguage = StreamLanguage.define(definitionParser);

/** Colours from the theme's variables, so the editor follows light and dark. */
export const definitionHighlight = HighlightStyle.define([
  { tag: tags.heading, color: "var(--accent)", fontWeight: "600" },
  { tag: tags.keyword, color: "var(--accent)" },
  { tag: tags.comment, color: "var(--text-faint)", fontStyle: "italic" },
  { tag: tags.string, color: "var(--success)" },
  { tag: tags.variableName, color: "var(--warning)" },
  { tag: tags.propertyName, color: "var(--text-muted)", fontWeight: "600" },
  { tag: tags.labelName, color: "var(--text-muted)" },
]);
