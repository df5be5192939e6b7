//! Table-driven tests of `library://` parsing (library-api.md §3).

use berth_library::{check_arch, host_arch, LibraryRef, RefPart, RefReason};

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// (input, host, path, tags, canonical form)
type Accepted<'a> = (String, Option<&'a str>, &'a str, Vec<String>, String);

#[test]
fn accepted_forms() {
    let sha = format!("sha256.{HEX}");
    let cases: Vec<Accepted> = vec![
        // §3.1 table
        (
            "library://alpine".into(),
            None,
            "alpine",
            vec!["latest".into()],
            "library://alpine:latest".into(),
        ),
        (
            "library://coll/alpine:3.8".into(),
            None,
            "coll/alpine",
            vec!["3.8".into()],
            "library://coll/alpine:3.8".into(),
        ),
        (
            "library://user/coll/alpine:3.8,latest".into(),
            None,
            "user/coll/alpine",
            vec!["3.8".into(), "latest".into()],
            "library://user/coll/alpine:3.8,latest".into(),
        ),
        (
            "library:///user/coll/alpine".into(),
            None,
            "user/coll/alpine",
            vec!["latest".into()],
            "library://user/coll/alpine:latest".into(),
        ),
        (
            "library://host:4443/user/coll/alpine:v1".into(),
            Some("host:4443"),
            "user/coll/alpine",
            vec!["v1".into()],
            "library://host:4443/user/coll/alpine:v1".into(),
        ),
        (
            format!("library://user/coll/alpine:{sha}"),
            None,
            "user/coll/alpine",
            vec![sha.clone()],
            format!("library://user/coll/alpine:{sha}"),
        ),
        // §3.2 forms
        (
            "library:user/coll/alpine:v2".into(),
            None,
            "user/coll/alpine",
            vec!["v2".into()],
            "library://user/coll/alpine:v2".into(),
        ),
        (
            "library:/user/coll/alpine".into(),
            None,
            "user/coll/alpine",
            vec!["latest".into()],
            "library://user/coll/alpine:latest".into(),
        ),
        (
            "library://Cloud.Example.COM/e/c/n".into(),
            Some("cloud.example.com"),
            "e/c/n",
            vec!["latest".into()],
            "library://cloud.example.com/e/c/n:latest".into(),
        ),
        (
            "library://127.0.0.1:8080/e/c/n:t".into(),
            Some("127.0.0.1:8080"),
            "e/c/n",
            vec!["t".into()],
            "library://127.0.0.1:8080/e/c/n:t".into(),
        ),
        (
            "library://[::1]:8443/e/c/n".into(),
            Some("[::1]:8443"),
            "e/c/n",
            vec!["latest".into()],
            "library://[::1]:8443/e/c/n:latest".into(),
        ),
        // without scheme, whitespace, case of the scheme
        (
            "  sylabs/examples/lolcow:latest \n".into(),
            None,
            "sylabs/examples/lolcow",
            vec!["latest".into()],
            "library://sylabs/examples/lolcow:latest".into(),
        ),
        (
            "LIBRARY://alpine:3.19".into(),
            None,
            "alpine",
            vec!["3.19".into()],
            "library://alpine:3.19".into(),
        ),
        // separators inside names, OCI-style tags, duplicates dropped
        (
            "library://my-user/my_coll/img.name:V1_rc-2".into(),
            None,
            "my-user/my_coll/img.name",
            vec!["V1_rc-2".into()],
            "library://my-user/my_coll/img.name:V1_rc-2".into(),
        ),
        (
            "library://e/c/n:a,b,a".into(),
            None,
            "e/c/n",
            vec!["a".into(), "b".into()],
            "library://e/c/n:a,b".into(),
        ),
        // upper-case hash normalised
        (
            format!("library://e/c/n:sha256.{}", HEX.to_uppercase()),
            None,
            "e/c/n",
            vec![sha.clone()],
            format!("library://e/c/n:{sha}"),
        ),
        (
            "library://e/c/n:sif.8C3B2D4A-1234-4ABC-9DEF-0123456789AB".into(),
            None,
            "e/c/n",
            vec!["sif.8c3b2d4a-1234-4abc-9def-0123456789ab".into()],
            "library://e/c/n:sif.8c3b2d4a-1234-4abc-9def-0123456789ab".into(),
        ),
        // a host with too few components is a path (§3.1 "ambiguous")
        (
            "library://host/alpine".into(),
            None,
            "host/alpine",
            vec!["latest".into()],
            "library://host/alpine:latest".into(),
        ),
    ];
    for (input, host, path, tags, canonical) in cases {
        let r = LibraryRef::parse(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(r.host(), host, "{input}");
        assert_eq!(r.path(), path, "{input}");
        assert_eq!(r.tags(), tags.as_slice(), "{input}");
        assert_eq!(r.to_string(), canonical, "{input}");
        // The canonical form is a fixed point.
        let again = LibraryRef::parse(&canonical).unwrap();
        assert_eq!(again, r, "{input}");
        assert_eq!(again.to_string(), canonical);
    }
}

#[test]
fn accessors() {
    let r = LibraryRef::parse(&format!("library://h.example/e/c/n:sha256.{HEX}")).unwrap();
    assert_eq!(r.entity(), Some("e"));
    assert_eq!(r.collection(), Some("c"));
    assert_eq!(r.container(), "n");
    assert!(r.is_full());
    assert_eq!(r.image_id(), Some(format!("sha256.{HEX}").as_str()));
    assert_eq!(r.path_with_tag(), format!("e/c/n:sha256.{HEX}"));
    assert_eq!(r.without_host().host(), None);

    let short = LibraryRef::parse("c/n").unwrap();
    assert_eq!(short.entity(), None);
    assert_eq!(short.collection(), Some("c"));
    assert_eq!(short.tag(), "latest");
    assert_eq!(short.image_id(), None);
    assert!(!short.is_full());
    let one = LibraryRef::parse("n:1.0,2.0").unwrap();
    assert_eq!(
        (one.entity(), one.collection(), one.container(), one.tag()),
        (None, None, "n", "1.0")
    );

    let with = LibraryRef::parse("e/c/n")
        .unwrap()
        .with_host("H.example:444")
        .unwrap();
    assert_eq!(with.to_string(), "library://h.example:444/e/c/n:latest");
    let e = short.with_host("h.example").unwrap_err();
    assert_eq!(e.reason, RefReason::HostNeedsFullPath);
    let t = with.with_tags(["v1", "v2"]).unwrap();
    assert_eq!(t.to_string(), "library://h.example:444/e/c/n:v1,v2");
    assert_eq!(with.with_tags(["bad tag"]).unwrap_err().part, RefPart::Tag);
}

#[test]
fn serde_round_trip() {
    let r = LibraryRef::parse("library://e/c/n:v1").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, "\"library://e/c/n:v1\"");
    let back: LibraryRef = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert!(serde_json::from_str::<LibraryRef>("\"docker://x\"").is_err());
}

/// (input, part, offending value, reason)
#[test]
fn rejected_forms() {
    use RefPart::*;
    use RefReason::*;
    let long = "a".repeat(256);
    let cases: Vec<(String, RefPart, &str, RefReason)> = vec![
        ("".into(), Reference, "", Empty),
        ("   ".into(), Reference, "", Empty),
        ("library://".into(), Path, "", Empty),
        ("library:".into(), Path, "", Empty),
        ("docker://alpine".into(), Scheme, "docker", WrongScheme),
        ("oras://e/c/n".into(), Scheme, "oras", WrongScheme),
        (
            "library://e/c/n?x=1".into(),
            Reference,
            "library://e/c/n?x=1",
            Query,
        ),
        (
            "library://e/c/n#frag".into(),
            Reference,
            "library://e/c/n#frag",
            Fragment,
        ),
        (
            "library://user@host/e/c/n".into(),
            Host,
            "user@host",
            UserInfo,
        ),
        ("library://e/c/n@x".into(), Path, "e/c/n@x", UserInfo),
        ("library://Alpine".into(), Container, "Alpine", UpperCase),
        (
            "library://User/coll/alpine".into(),
            Entity,
            "User",
            UpperCase,
        ),
        (
            "library://user/Coll/alpine".into(),
            Collection,
            "Coll",
            UpperCase,
        ),
        (
            "library://coll/alp ine".into(),
            Container,
            "alp ine",
            InvalidChar(' '),
        ),
        ("library://e/c/-n".into(), Container, "-n", BadSeparator),
        ("library://e/c/n.".into(), Container, "n.", BadSeparator),
        (
            "library://e/c__x/n".into(),
            Collection,
            "c__x",
            BadSeparator,
        ),
        ("library://e//n".into(), Collection, "", Empty),
        ("library://e/c/".into(), Container, "", Empty),
        (
            format!("library://{long}"),
            Container,
            long.as_str(),
            TooLong(255),
        ),
        ("library://e/c/n:".into(), Tag, "", Empty),
        ("library://e/c/n:a,,b".into(), Tag, "", Empty),
        ("library://e/c/n:a:b".into(), Tag, "a:b", TooManyColons),
        ("library://e/c/n:a b".into(), Tag, "a b", InvalidChar(' ')),
        (
            "library://e/c/n:.hidden".into(),
            Tag,
            ".hidden",
            BadSeparator,
        ),
        (
            "library://e/c/n:sha256.abc".into(),
            Tag,
            "sha256.abc",
            BadImageId,
        ),
        (
            format!("library://e/c/n:sha256.{}", &HEX[..63]),
            Tag,
            "",
            BadImageId,
        ),
        (
            format!("library://e/c/n:sha256.{}g", &HEX[..63]),
            Tag,
            "",
            BadImageId,
        ),
        (
            "library://e/c/n:sif.nope".into(),
            Tag,
            "sif.nope",
            BadImageId,
        ),
        (
            format!("library://e/c/n:latest,sha256.{HEX}"),
            Tag,
            "",
            ImageIdWithOtherTags,
        ),
        (
            "library://e/c/n:".to_owned() + &"t".repeat(129),
            Tag,
            "",
            TooLong(128),
        ),
        (
            "library://host:4443/alpine".into(),
            Host,
            "host",
            HostNeedsFullPath,
        ),
        ("library://h:0/e/c/n".into(), Host, "h:0", BadPort),
        ("library://h:99999/e/c/n".into(), Host, "h:99999", BadPort),
        ("library://h:x/e/c/n".into(), Host, "h:x", BadPort),
        ("library://h..x/e/c/n".into(), Host, "h..x", BadSeparator),
        ("library://-h/e/c/n".into(), Host, "-h", BadSeparator),
        (
            "library://[zz]/e/c/n".into(),
            Host,
            "[zz]",
            InvalidChar('z'),
        ),
        ("library://h_x/e/c/n".into(), Host, "h_x", InvalidChar('_')),
        ("library://é".into(), Container, "é", InvalidChar('é')),
    ];
    for (input, part, value, reason) in cases {
        let err = match LibraryRef::parse(&input) {
            Ok(r) => panic!("{input:?} parsed as {r}"),
            Err(e) => e,
        };
        assert_eq!(err.part, part, "{input}: {err}");
        assert_eq!(err.reason, reason, "{input}: {err}");
        if !value.is_empty() {
            assert_eq!(err.value, value, "{input}: {err}");
        }
        assert_eq!(err.input, input, "{input}");
    }
}

#[test]
fn too_many_components_without_host() {
    // `a/b/c/d/e`: the first component is taken as host, four remain.
    let e = LibraryRef::parse("library://a/b/c/d/e").unwrap_err();
    assert_eq!(e.part, RefPart::Path);
    assert_eq!(e.reason, RefReason::TooManyComponents(4));
    // Without `//`, `library:` never has a host.
    let e = LibraryRef::parse("library:a/b/c/d").unwrap_err();
    assert_eq!(e.reason, RefReason::TooManyComponents(4));
}

#[test]
fn messages_name_the_part_and_the_reason() {
    let e = LibraryRef::parse("library://User/coll/alpine").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid library reference \"library://User/coll/alpine\": entity \"User\" must be lower-case"
    );
    let e = LibraryRef::parse("docker://alpine").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid library reference \"docker://alpine\": scheme \"docker\" is not library://"
    );
    let e = LibraryRef::parse("library://host:4443/alpine").unwrap_err();
    assert!(
        e.to_string().contains("host \"host\" looks like host:port"),
        "{e}"
    );
    let e = LibraryRef::parse("library://e/c/n:sha256.abc").unwrap_err();
    assert!(
        e.to_string()
            .contains("tag \"sha256.abc\" is not a valid image id"),
        "{e}"
    );
    // Converted into the crate error with the stable code.
    let err: berth_library::Error = e.into();
    assert_eq!(err.code(), "ref.invalid");
}

#[test]
fn arch_names() {
    for ok in [
        "amd64", "arm64", "ppc64le", "s390x", "386", "riscv64", "mips64le",
    ] {
        check_arch(ok).unwrap();
    }
    assert_eq!(check_arch("").unwrap_err().reason, RefReason::Empty);
    assert_eq!(
        check_arch("AMD64").unwrap_err().reason,
        RefReason::UpperCase
    );
    assert_eq!(
        check_arch("amd64,arm64").unwrap_err().reason,
        RefReason::InvalidChar(',')
    );
    assert_eq!(check_arch("x86-64").unwrap_err().part, RefPart::Arch);
    check_arch(host_arch()).unwrap();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(host_arch(), "amd64");
    }
}
