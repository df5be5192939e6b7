//! Fixed texts of the `/.singularity.d` skeleton (oci-to-sif.md §5.4). The runtime no longer
//! runs most of them (§8); they keep older runtimes and the `/.run`, `/.exec`… links working.

/// Sources every environment script; shared head of the action scripts.
macro_rules! with_env {
    ($body:literal) => {
        concat!(
            "#!/bin/sh\n",
            "# Written by Berth (Apache-2.0) when it converted this image.\n",
            "\n",
            "for script in /.singularity.d/env/*.sh; do\n",
            "    if [ -f \"$script\" ]; then\n",
            "        . \"$script\"\n",
            "    fi\n",
            "done\n",
            "\n",
            $body
        )
    };
}

const HEADER: &str = "#!/bin/sh\n# Written by Berth (Apache-2.0) when it converted this image.\n";

pub(crate) const EXEC: &str = with_env!("exec \"$@\"\n");

pub(crate) const RUN: &str = with_env!(
    r#"if [ -n "${SINGULARITY_APPNAME:-}" ]; then
    if [ -x "/scif/apps/${SINGULARITY_APPNAME}/scif/runscript" ]; then
        exec "/scif/apps/${SINGULARITY_APPNAME}/scif/runscript" "$@"
    fi
    if [ -x "/scif/apps/singularity/scif/runscript" ]; then
        exec "/scif/apps/singularity/scif/runscript" "$@"
    fi
    echo "No runscript for the container application ${SINGULARITY_APPNAME}" >&2
    exit 1
fi

if [ -x /.singularity.d/runscript ]; then
    exec /.singularity.d/runscript "$@"
fi

echo "No Apptainer runscript found, executing /bin/sh"
exec /bin/sh "$@"
"#
);

pub(crate) const SHELL: &str = with_env!(
    r#"if [ -n "${SINGULARITY_SHELL:-}" ] && [ -x "${SINGULARITY_SHELL}" ]; then
    exec "${SINGULARITY_SHELL}" "$@"
fi

if [ -x /bin/bash ]; then
    SHELL=/bin/bash
    PS1="Apptainer ${APPTAINER_NAME:-}:\w> "
    export SHELL PS1
    exec /bin/bash --norc "$@"
fi

if [ -x /bin/sh ]; then
    SHELL=/bin/sh
    export SHELL
    exec /bin/sh "$@"
fi

echo "ERROR: no shell found in the container (tried \$SINGULARITY_SHELL, /bin/bash, /bin/sh)" >&2
exit 1
"#
);

pub(crate) const START: &str = concat!(
    "#!/bin/sh\n",
    "# Written by Berth (Apache-2.0) when it converted this image.\n",
    "\n",
    "# The instance's first process waits stopped until it is told to go on.\n",
    "kill -CONT 1\n",
    "\n",
    "for script in /.singularity.d/env/*.sh; do\n",
    "    if [ -f \"$script\" ]; then\n",
    "        . \"$script\"\n",
    "    fi\n",
    "done\n",
    "\n",
    "if [ -x /.singularity.d/startscript ]; then\n",
    "    exec /.singularity.d/startscript \"$@\"\n",
    "fi\n",
);

pub(crate) const TEST: &str = with_env!(
    r#"if [ -n "${SINGULARITY_APPNAME:-}" ]; then
    if [ -x "/scif/apps/${SINGULARITY_APPNAME}/scif/test" ]; then
        exec "/scif/apps/${SINGULARITY_APPNAME}/scif/test" "$@"
    fi
    echo "No tests for the container application ${SINGULARITY_APPNAME}" >&2
    exit 1
fi

if [ -x /.singularity.d/test ]; then
    exec /.singularity.d/test "$@"
fi

echo "No test script found in the container, running /bin/sh -c true"
exec /bin/sh -c true
"#
);

pub(crate) fn base_env() -> String {
    format!("{HEADER}#\n# Base environment; later scripts in this directory build on it.\n")
}

pub(crate) fn environment() -> String {
    format!("{HEADER}# Custom environment shell code should follow\n")
}

/// The runscript of an image whose definition gives none (replaced by an OCI base's).
pub(crate) const PLACEHOLDER_RUNSCRIPT: &str = concat!(
    "#!/bin/sh\n",
    "# Written by Berth (Apache-2.0) when it converted this image.\n",
    "\n",
    "echo \"There is no runscript defined for this container\"\n",
);

pub(crate) fn startscript() -> String {
    HEADER.to_owned()
}

pub(crate) const APPS_ENV: &str = concat!(
    "#!/bin/sh\n",
    "# Written by Berth (Apache-2.0) when it converted this image.\n",
    "# Environment of a SCIF application selected with --app.\n",
    r#"
if [ -n "${SINGULARITY_APPNAME:-}" ]; then
    if [ ! -d "/scif/apps/${SINGULARITY_APPNAME}" ]; then
        echo "Could not locate the container application: ${SINGULARITY_APPNAME}" >&2
        exit 1
    fi
    SCIF_APPS=/scif/apps
    SCIF_APPROOT="/scif/apps/${SINGULARITY_APPNAME}"
    export SCIF_APPS SCIF_APPROOT

    PATH="${SCIF_APPROOT}:${PATH}"
    if [ -d "${SCIF_APPROOT}/bin" ]; then
        PATH="${SCIF_APPROOT}/bin:${PATH}"
    fi
    for libdir in "${SCIF_APPROOT}/lib" /scif/apps/singularity/lib; do
        if [ -d "$libdir" ]; then
            LD_LIBRARY_PATH="${libdir}${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
        fi
    done
    export PATH LD_LIBRARY_PATH

    for appenv in "${SCIF_APPROOT}/scif/env/01-base.sh" "${SCIF_APPROOT}/scif/env/90-environment.sh"; do
        if [ -f "$appenv" ]; then
            . "$appenv"
        fi
    done
fi
"#
);

pub(crate) const LATE_BASE_ENV: &str = concat!(
    "#!/bin/sh\n",
    "# Written by Berth (Apache-2.0) when it converted this image.\n",
    r#"
# Libraries bound in by the runtime (GPU drivers) come last.
if [ -z "${LD_LIBRARY_PATH:-}" ]; then
    LD_LIBRARY_PATH=/.singularity.d/libs
else
    LD_LIBRARY_PATH="${LD_LIBRARY_PATH}:/.singularity.d/libs"
fi

if [ -z "${PS1:-}" ]; then
    PS1="Apptainer> "
fi

export LD_LIBRARY_PATH PS1
"#
);

pub(crate) const RUNTIME_VARS: &str = concat!(
    "#!/bin/sh\n",
    "# Written by Berth (Apache-2.0) when it converted this image.\n",
    "# Runtimes serve their own copy of this file; this one is for older ones.\n",
    r#"
if [ -n "${SING_USER_DEFINED_PREPEND_PATH:-}" ]; then
    PATH="${SING_USER_DEFINED_PREPEND_PATH}:${PATH}"
fi
if [ -n "${SING_USER_DEFINED_APPEND_PATH:-}" ]; then
    PATH="${PATH}:${SING_USER_DEFINED_APPEND_PATH}"
fi
if [ -n "${SING_USER_DEFINED_PATH:-}" ]; then
    PATH="${SING_USER_DEFINED_PATH}"
fi
unset SING_USER_DEFINED_PREPEND_PATH SING_USER_DEFINED_APPEND_PATH SING_USER_DEFINED_PATH

export PATH
"#
);
