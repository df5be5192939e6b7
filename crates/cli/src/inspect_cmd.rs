//! `berth inspect`: container metadata from the primary partition, like `apptainer inspect`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use berth_core::model::ContainerMetadata;
use clap::Args;

#[derive(Args)]
pub struct InspectArgs {
    /// The SIF image.
    image: PathBuf,
    /// Show the labels (the default).
    #[arg(short, long)]
    labels: bool,
    /// Show the definition file the image was built from.
    #[arg(short, long)]
    deffile: bool,
    /// Show the runscript.
    #[arg(short, long)]
    runscript: bool,
    /// Show the environment scripts.
    #[arg(short, long)]
    environment: bool,
    /// Show the startscript.
    #[arg(short, long)]
    startscript: bool,
    /// Show the test script.
    #[arg(short, long)]
    test: bool,
    /// Show the help text.
    #[arg(short = 'H', long)]
    helpfile: bool,
    /// Print everything selected as JSON, in apptainer's inspect layout.
    #[arg(short, long)]
    json: bool,
    /// Select every kind of metadata.
    #[arg(long)]
    all: bool,
}

pub fn run(a: &InspectArgs) -> Result<()> {
    let mut image =
        berth_sif::Image::open(&a.image).map_err(|e| berth_core::Error::sif(&a.image, e))?;
    let meta = berth_core::inspect::container_metadata(&mut image, &a.image)?;
    let any = a.labels
        || a.deffile
        || a.runscript
        || a.environment
        || a.startscript
        || a.test
        || a.helpfile;
    let want = |flag: bool| a.all || flag;
    let labels = want(a.labels) || !any;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &json_document(&meta, a, labels))?;
        writeln!(out)?;
        return Ok(());
    }
    if labels {
        for l in &meta.labels {
            writeln!(out, "{}: {}", l.key, l.value)?;
        }
    }
    let texts = [
        (want(a.deffile), &meta.deffile),
        (want(a.runscript), &meta.runscript),
        (want(a.startscript), &meta.startscript),
        (want(a.test), &meta.test),
        (want(a.helpfile), &meta.helpfile),
    ];
    for (selected, text) in texts {
        if let (true, Some(t)) = (selected, text) {
            write!(out, "{t}")?;
            if !t.ends_with('\n') {
                writeln!(out)?;
            }
        }
    }
    if want(a.environment) {
        for env in &meta.environment {
            write!(out, "=== {} ===\n{}\n\n", env.path, env.content)?;
        }
    }
    Ok(())
}

fn json_document(meta: &ContainerMetadata, a: &InspectArgs, labels: bool) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let want = |flag: bool| a.all || flag;
    let mut attrs = Map::new();
    if labels {
        let map: Map<String, Value> = meta
            .labels
            .iter()
            .map(|l| (l.key.clone(), Value::from(l.value.clone())))
            .collect();
        attrs.insert("labels".into(), Value::Object(map));
    }
    let mut text = |key: &str, flag: bool, v: &Option<String>| {
        if let (true, Some(t)) = (want(flag), v) {
            attrs.insert(key.into(), Value::from(t.clone()));
        }
    };
    text("deffile", a.deffile, &meta.deffile);
    text("runscript", a.runscript, &meta.runscript);
    text("startscript", a.startscript, &meta.startscript);
    text("test", a.test, &meta.test);
    text("helpfile", a.helpfile, &meta.helpfile);
    if want(a.environment) {
        let map: Map<String, Value> = meta
            .environment
            .iter()
            .map(|e| (e.path.clone(), Value::from(e.content.clone())))
            .collect();
        attrs.insert("environment".into(), Value::Object(map));
    }
    json!({ "data": { "attributes": attrs }, "type": "container" })
}
