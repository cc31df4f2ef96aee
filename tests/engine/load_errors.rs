//! Clear errors from the engine before any generation: a missing or truncated GGUF, an
//! architecture the engine does not implement (a synthetic "mamba" file), a GGUF without
//! tokenizer metadata.

use super::synthetic::Writer;
use longwriter::engine::worker::{EngineSettings, Worker};
use std::path::Path;

fn start(path: &Path) -> String {
    match Worker::start(EngineSettings {
        model_path: path.to_path_buf(),
        context: Some(256),
        threads: None,
    }) {
        Ok(_) => panic!("{} should not load", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_and_truncated_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gguf");
    let err = start(&missing);
    assert!(
        err.contains("cannot read the model file") && err.contains("nope.gguf"),
        "{err}"
    );
    let truncated = dir.path().join("cut.gguf");
    let bytes = Writer::default()
        .string("general.architecture", "gemma3")
        .bytes();
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).unwrap();
    let err = start(&truncated);
    assert!(
        err.contains("not a valid GGUF") && err.contains("fetch-model.sh"),
        "{err}"
    );
}

#[test]
fn unsupported_architecture_lists_what_is_supported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamba.gguf");
    let bytes = Writer::default()
        .string("general.architecture", "mamba")
        .bytes();
    std::fs::write(&path, bytes).unwrap();
    let err = start(&path);
    assert!(
        err.contains("\"mamba\"") && err.contains("supported: gemma3"),
        "{err}"
    );
}

#[test]
fn missing_tokenizer_metadata_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notok.gguf");
    let bytes = Writer::default()
        .string("general.architecture", "gemma3")
        .bytes();
    std::fs::write(&path, bytes).unwrap();
    let err = start(&path);
    assert!(err.contains("no tokenizer metadata"), "{err}");
}
