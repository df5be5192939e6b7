//! Client of OCI/Docker registries: references, auth, platform selection, verified blob downloads into a content-addressed cache.
