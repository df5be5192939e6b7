//! The OCI runscript (oci-to-sif.md §5.5) and the Docker environment script (§5.6): the
//! only skeleton files whose exact quoting matters.

use std::fmt::Write;

/// The line Apptainer's runtime looks for to interpret the runscript in-process; must stay
/// byte-identical.
pub const OCI_RUN_SENTINEL: &str = "eval \"set ${SINGULARITY_OCI_RUN}\"";

/// Escapes text for the inside of a double-quoted shell string.
pub(crate) fn escape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The value between the single quotes of `OCI_ENTRYPOINT='…'` / `OCI_CMD='…'`: each
/// element double-quoted (so the later `eval` sees it as one word), joined by spaces, with
/// single quotes closed, emitted double-quoted and reopened.
pub fn encode_args(args: &[String]) -> String {
    let joined = args
        .iter()
        .map(|a| format!("\"{}\"", escape_double(a)))
        .collect::<Vec<_>>()
        .join(" ");
    joined.replace('\'', "'\"'\"'")
}

/// A shell single-quoted literal of `s`.
fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// `set -- '<elem>' "$@"` lines that prepend `args` to the positional parameters.
fn prepend(out: &mut String, args: &[String], indent: &str) {
    for a in args.iter().rev() {
        let _ = writeln!(out, "{indent}set -- {} \"$@\"", single_quoted(a));
    }
}

/// The complete runscript for an image config's Entrypoint and Cmd.
pub fn oci_runscript(entrypoint: &[String], cmd: &[String]) -> String {
    let mut s = String::from("#!/bin/sh\n");
    let _ = writeln!(s, "OCI_ENTRYPOINT='{}'", encode_args(entrypoint));
    let _ = writeln!(s, "OCI_CMD='{}'", encode_args(cmd));
    s.push_str(
        "\n# Runs the image's ENTRYPOINT/CMD the way `docker run` does.\n\
         # With SINGULARITY_NO_EVAL set, arguments are passed on verbatim (OCI mode).\n\
         if [ -n \"${SINGULARITY_NO_EVAL:-}\" ]; then\n",
    );
    match (entrypoint.is_empty(), cmd.is_empty()) {
        (false, true) => prepend(&mut s, entrypoint, "    "),
        (true, false) => {
            s.push_str("    if [ $# -eq 0 ]; then\n");
            prepend(&mut s, cmd, "        ");
            s.push_str("    fi\n");
        }
        (false, false) => {
            s.push_str("    if [ $# -eq 0 ]; then\n");
            prepend(&mut s, cmd, "        ");
            s.push_str("    fi\n");
            prepend(&mut s, entrypoint, "    ");
        }
        (true, true) => {}
    }
    s.push_str(
        "    exec \"$@\"\n\
         fi\n\
         \n\
         # Otherwise every argument goes through one round of shell evaluation, as in\n\
         # Apptainer: each becomes a double-quoted word appended to the command line.\n\
         CMDLINE_ARGS=\"\"\n\
         for arg in \"$@\"; do\n\
         \x20   CMDLINE_ARGS=\"${CMDLINE_ARGS} \\\"${arg}\\\"\"\n\
         done\n\
         \n\
         # Arguments replace CMD; ENTRYPOINT always comes first. The leading -- keeps an\n\
         # empty or dash-led command line from being read as options of set.\n\
         if [ $# -gt 0 ]; then\n\
         \x20   SINGULARITY_OCI_RUN=\"-- ${OCI_ENTRYPOINT} ${CMDLINE_ARGS}\"\n\
         else\n\
         \x20   SINGULARITY_OCI_RUN=\"-- ${OCI_ENTRYPOINT} ${OCI_CMD}\"\n\
         fi\n\
         \n",
    );
    s.push_str(OCI_RUN_SENTINEL);
    s.push_str("\nexec \"$@\"\n");
    s
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `/.singularity.d/env/10-docker2singularity.sh` for a config's `Env` array.
pub fn docker_env_script(env: &[String]) -> String {
    let mut s = String::from("#!/bin/sh\n");
    for entry in env {
        let (name, value) = match entry.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (entry.as_str(), None),
        };
        if !valid_name(name) {
            continue;
        }
        let _ = match value {
            None => writeln!(s, "export {name}=\"${{{name}:-}}\""),
            Some(v) if name == "PATH" => writeln!(s, "export PATH=\"{}\"", escape_double(v)),
            Some(v) => writeln!(s, "export {name}=\"${{{name}:-\"{}\"}}\"", escape_double(v)),
        };
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn encoding_table() {
        assert_eq!(encode_args(&v(&["sh"])), "\"sh\"");
        assert_eq!(
            encode_args(&v(&["echo", "it's $HOME"])),
            "\"echo\" \"it'\"'\"'s \\$HOME\""
        );
        assert_eq!(
            encode_args(&v(&["a\"b", "c\\d", "`x`"])),
            "\"a\\\"b\" \"c\\\\d\" \"\\`x\\`\""
        );
        assert_eq!(encode_args(&[]), "");
    }

    #[test]
    fn runscript_head_and_sentinel() {
        let s = oci_runscript(&[], &v(&["sh"]));
        assert!(
            s.starts_with("#!/bin/sh\nOCI_ENTRYPOINT=''\nOCI_CMD='\"sh\"'\n\n"),
            "{s}"
        );
        assert_eq!(
            s.lines()
                .filter(|l| *l == "eval \"set ${SINGULARITY_OCI_RUN}\"")
                .count(),
            1
        );
        let s = oci_runscript(&v(&["echo", "it's $HOME"]), &[]);
        assert!(
            s.contains("OCI_ENTRYPOINT='\"echo\" \"it'\"'\"'s \\$HOME\"'\n"),
            "{s}"
        );
        assert!(
            s.contains("    set -- 'it'\"'\"'s $HOME' \"$@\"\n    set -- 'echo' \"$@\"\n"),
            "{s}"
        );
    }

    #[test]
    fn env_rules() {
        let s = docker_env_script(&v(&[
            "PATH=/usr/bin:/bin",
            "LANG=C.UTF-8",
            "EMPTY=",
            "NOVALUE",
            "1BAD=x",
            "BAD-NAME=x",
            "Q=a\"b$c`d\\e",
            "EQ=a=b",
        ]));
        assert_eq!(
            s,
            "#!/bin/sh\n\
             export PATH=\"/usr/bin:/bin\"\n\
             export LANG=\"${LANG:-\"C.UTF-8\"}\"\n\
             export EMPTY=\"${EMPTY:-\"\"}\"\n\
             export NOVALUE=\"${NOVALUE:-}\"\n\
             export Q=\"${Q:-\"a\\\"b\\$c\\`d\\\\e\"}\"\n\
             export EQ=\"${EQ:-\"a=b\"}\"\n"
        );
    }
}
