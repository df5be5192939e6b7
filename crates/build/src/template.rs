//! Build arguments: `{{ NAME }}` placeholders filled from `--build-arg NAME=VALUE` values
//! and the `%arguments` section's defaults, before the file is built.
//!
//! A placeholder is `{{`, optional blanks, a name (letters, digits, `_`, not starting with a
//! digit), optional blanks, `}}`. Anything else between braces (`{{ .Name }}` in a Go
//! template inside a script) is left alone.

use crate::definition::Definition;

/// The definition with its placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The text to build (and to store in the image).
    pub text: String,
    /// Given arguments that no placeholder uses, in the order given.
    pub unused: Vec<String>,
}

/// Placeholders with no value: neither given nor defaulted in `%arguments`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no value for the build argument{} {}", if .names.len() == 1 { "" } else { "s" }, .names.join(", "))]
pub struct MissingArguments {
    /// Their names, in order of first use.
    pub names: Vec<String>,
}

/// Fills `text`'s placeholders. `given` values win over the `%arguments` defaults of every
/// stage (a default written `NAME="x"` keeps its quotes out). A file that does not parse
/// keeps only its given values (the parse error is reported by whoever parses it next).
pub fn expand(text: &str, given: &[(String, String)]) -> Result<Expanded, MissingArguments> {
    let mut values: Vec<(String, String)> = Vec::new();
    if let Ok(def) = Definition::parse(text) {
        for stage in def.stages() {
            for arg in stage.arguments() {
                if let Some(default) = arg.default {
                    set(&mut values, &arg.name, unquote(&default));
                }
            }
        }
    }
    for (name, value) in given {
        set(&mut values, name, value.clone());
    }
    let mut out = String::with_capacity(text.len());
    let mut used: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match placeholder(after) {
            Some((name, len)) => {
                match values.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => out.push_str(v),
                    None if !missing.iter().any(|m| m == name) => missing.push(name.to_owned()),
                    None => {}
                }
                if !used.iter().any(|u| u == name) {
                    used.push(name.to_owned());
                }
                rest = &after[len..];
            }
            None => {
                out.push_str("{{");
                rest = &after[2..];
            }
        }
    }
    out.push_str(rest);
    if !missing.is_empty() {
        return Err(MissingArguments { names: missing });
    }
    let unused = given
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !used.contains(n))
        .collect();
    Ok(Expanded { text: out, unused })
}

/// The names of `text`'s placeholders, in order of first use: the values a build asks for.
pub fn placeholder_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let at = &rest[start..];
        match placeholder(at) {
            Some((name, len)) => {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
                rest = &at[len..];
            }
            None => rest = &at[2..],
        }
    }
    names
}

/// `NAME=VALUE` as typed on a command line or in a form: the name must be a valid one.
pub fn parse_assignment(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    valid_name(name).then(|| (name.to_owned(), value.to_owned()))
}

fn set(values: &mut Vec<(String, String)>, name: &str, value: String) {
    match values.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => values.push((name.to_owned(), value)),
    }
}

fn unquote(v: &str) -> String {
    let t = v.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_owned();
        }
    }
    t.to_owned()
}

/// At `{{…`: the name and the placeholder's length in bytes.
fn placeholder(s: &str) -> Option<(&str, usize)> {
    let inner = s.strip_prefix("{{")?;
    let close = inner.find("}}")?;
    let name = inner[..close].trim_matches([' ', '\t']);
    valid_name(name).then_some((name, 2 + close + 2))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_fill_and_given_values_win() {
        let text = "Bootstrap: docker\nFrom: {{ OS }}:{{VERSION}}\n\n%arguments\n    OS=alpine\n    VERSION=\"3.19\"\n\n%labels\n    Version {{ VERSION }}\n";
        let e = expand(text, &[]).unwrap();
        assert!(e.text.contains("From: alpine:3.19\n"), "{}", e.text);
        assert!(e.text.contains("Version 3.19\n"));
        let e = expand(text, &given(&[("VERSION", "3.20"), ("UNUSED", "x")])).unwrap();
        assert!(e.text.contains("From: alpine:3.20\n"));
        assert_eq!(e.unused, ["UNUSED"]);
    }

    #[test]
    fn missing_values_are_named_once_each() {
        let e = expand("From: {{ A }}:{{ B }}\n%post\n  echo {{ A }}\n", &[]).unwrap_err();
        assert_eq!(e.names, ["A", "B"]);
        assert_eq!(e.to_string(), "no value for the build arguments A, B");
    }

    #[test]
    fn other_brace_pairs_are_left_alone() {
        let text = "%runscript\n  docker inspect -f '{{ .Name }}' x {{}} {{ 9x }} {{ unclosed\n";
        assert!(placeholder_names(text).is_empty());
        assert_eq!(expand(text, &[]).unwrap().text, text);
        assert_eq!(
            placeholder_names("From: {{ OS }}:{{VER}}\n echo {{ OS }} {{ .Go }}"),
            ["OS", "VER"]
        );
    }

    #[test]
    fn assignments_need_a_valid_name() {
        assert_eq!(
            parse_assignment("VER=1.2=b"),
            Some(("VER".into(), "1.2=b".into()))
        );
        assert_eq!(parse_assignment("X="), Some(("X".into(), String::new())));
        assert_eq!(parse_assignment("1X=a"), None);
        assert_eq!(parse_assignment("novalue"), None);
    }
}
