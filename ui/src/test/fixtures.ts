/**
 * Sample backend data for component tests and the browser harness. Numbers follow the
 * busybox SIF in shared/testdata (792293 bytes, five objects, one group signature).
 */
import type { ApiError } from "../lib/bindings/ApiError";
import type { Catalog } from "../lib/bindings/Catalog";
import type { ImageDetails } from "../lib/bindings/ImageDetails";
import type { LocalImage } from "../lib/bindings/LocalImage";

export const BUSYBOX = "/home/ana/images/busybox_amd64.sif";
export const ALPINE = "/home/ana/images/alpine-3.20.sif";
export const BROKEN = "/home/ana/Downloads/notes.txt";
export const WATCHED_DIR = "/data/containers";
export const LOLCOW = "/data/containers/lolcow.sif";

export const CORRUPT: ApiError = {
  code: "sif.bad_magic",
  message: "This is not a SIF image: the file does not start with the SIF signature.",
  hint: "Check that you picked the right file; SIF images usually end in .sif.",
};

export function image(path: string, overrides: Partial<LocalImage> = {}): LocalImage {
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    size: 792293,
    arch: "amd64",
    signed: false,
    modified: 1627931376,
    source: "added",
    error: null,
    ...overrides,
  };
}

export function sampleCatalog(): Catalog {
  return {
    images: [
      image(BUSYBOX, { signed: true }),
      image(ALPINE, { size: 3_407_872, arch: "arm64", modified: 1718000000 }),
      image(BROKEN, { size: 1204, arch: null, modified: 1700000000, error: CORRUPT }),
      image(LOLCOW, { size: 91_238_400, source: "watched", modified: 1650000000 }),
    ],
    folders: [{ path: WATCHED_DIR, imageCount: 1, error: null }],
  };
}

export function emptyCatalog(): Catalog {
  return { images: [], folders: [] };
}

export function busyboxDetails(path = BUSYBOX): ImageDetails {
  return {
    path,
    size: 792293,
    header: {
      launchScript: "#!/usr/bin/env run-singularity",
      version: "01",
      arch: "amd64",
      id: "4f307b4c-58a8-4753-9c0f-21dceefed4a6",
      createdAt: 1627931376,
      modifiedAt: 1627931376,
      descriptorsFree: 43,
      descriptorsTotal: 48,
      descriptorsOffset: 4096,
      descriptorsSize: 28080,
      dataOffset: 32768,
      dataSize: 759525,
    },
    objects: [
      { id: 1, dataType: "Def.FILE", group: 1, link: null, offset: 32768, size: 39, name: "", primary: false, extras: [] },
      {
        id: 2,
        dataType: "JSON.Generic",
        group: 1,
        link: null,
        offset: 36864,
        size: 1896,
        name: "inspect-metadata.json",
        primary: false,
        extras: [],
      },
      {
        id: 3,
        dataType: "JSON.Generic",
        group: 1,
        link: null,
        offset: 40960,
        size: 90,
        name: "oci-config.json",
        primary: false,
        extras: [],
      },
      {
        id: 4,
        dataType: "FS",
        group: 1,
        link: null,
        offset: 45056,
        size: 745472,
        name: "",
        primary: true,
        extras: [
          { label: "Filesystem", value: "Squashfs" },
          { label: "Partition", value: "System" },
          { label: "Arch", value: "amd64" },
        ],
      },
      {
        id: 5,
        dataType: "Signature",
        group: null,
        link: { id: 1, group: true },
        offset: 790528,
        size: 1765,
        name: "",
        primary: false,
        extras: [
          { label: "Hash", value: "SHA-256" },
          { label: "Entity", value: "1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2" },
        ],
      },
    ],
    signatureCount: 1,
    damage: null,
    container: {
      labels: [
        { key: "org.label-schema.build-arch", value: "amd64" },
        { key: "org.label-schema.build-date", value: "Monday_2_August_2021_19:9:36_UTC" },
        { key: "org.label-schema.schema-version", value: "1.0" },
        { key: "org.label-schema.usage.singularity.version", value: "3.8.1" },
      ],
      deffile: "bootstrap: docker\nfrom: busybox:1.33.1\n",
      runscript:
        '#!/bin/sh\nOCI_ENTRYPOINT=\'\'\nOCI_CMD=\'"sh"\'\n# ENTRYPOINT only - run entrypoint plus args\nexec "$@"\n',
      startscript: null,
      test: null,
      helpfile: null,
      environment: [
        {
          path: "/.singularity.d/env/10-docker2singularity.sh",
          content: "#!/bin/sh\nexport PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n",
        },
        {
          path: "/.singularity.d/env/90-environment.sh",
          content: "#!/bin/sh\n# Custom environment shell code should follow\n",
        },
      ],
      problems: [],
    },
    containerError: null,
  };
}
