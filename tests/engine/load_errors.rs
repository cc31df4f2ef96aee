//! Clear errors from the engine before any generation: a missing or truncated GGUF, an
//! architecture the engine does not implement (a synthetic "mamba" file), a GGUF without
//! tokenizer metadata, a GPU device in a build without its kernels.

use super::synthetic::Writer;
use longwriter::engine::device::DeviceChoice;
use longwriter::engine::worker::{EngineSettings, Worker};
use std::path::Path;

fn start(path: &Path) -> String {
    start_on(path, DeviceChoice::Cpu)
}

fn start_on(path: &Path, device: DeviceChoice) -> String {
    match Worker::start(EngineSettings {
        model_path: path.to_path_buf(),
        context: Some(256),
        threads: None,
        device,
        parallel: 1,
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

/// The tests run a CPU-only build: a GPU is refused with the feature to build with, before the
/// file is even read (the missing file is not what the message is about).
#[cfg(not(feature = "cuda"))]
#[test]
fn a_gpu_without_its_feature_names_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let err = start_on(&dir.path().join("any.gguf"), DeviceChoice::Cuda(1));
    assert!(
        err.contains("--device cuda:1")
            && err.contains("--features cuda")
            && err.contains("--device cpu")
            && !err.contains("any.gguf"),
        "{err}"
    );
    let settings = EngineSettings {
        model_path: dir.path().join("any.gguf"),
        context: Some(256),
        threads: None,
        device: DeviceChoice::Cuda(0),
        parallel: 1,
    };
    let err = Worker::check(&settings).expect_err("refused").to_string();
    assert!(err.contains("--features cuda"), "{err}");
}
