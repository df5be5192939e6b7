//! Builds SIF images: OCI layers applied to a virtual root file system, the /.singularity.d skeleton, SquashFS, SIF assembly.
