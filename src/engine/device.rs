//! Which device the built-in engine runs on: `--device cpu|cuda[:N]|metal[:N]`. Parsing is
//! pure and present in every build, so the flag means the same with or without the engine;
//! whether this binary has the device's kernels is a second check (`DeviceChoice::built`),
//! made before any weight is read; opening the device (`open`, with the `candle` feature) turns
//! a missing driver or GPU into an error that names the cause and the fix.
//!
//! Only the engine thread opens the device (`worker`); the models see a candle `Device` and
//! pick their kernels from it (`models::matrix`, `models::attention`, `models::ops`).

use std::fmt;
use std::str::FromStr;

/// Where the engine runs, as the user asked for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU (the default): our own Q8_0 and attention kernels.
    #[default]
    Cpu,
    /// The NVIDIA GPU of this index (feature `cuda`).
    Cuda(usize),
    /// The Apple GPU of this index (feature `metal`).
    Metal(usize),
}

/// Everything that can go wrong choosing or opening a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The text is not a device.
    #[error("--device {0:?} is not a device: use cpu, cuda (the first NVIDIA GPU), cuda:N (the GPU of index N, from 0) or metal")]
    Invalid(String),
    /// This binary was built without the device's kernels.
    #[error("--device {device} needs a longwriter built with the `{feature}` feature, and this one was built without it; rebuild with `cargo install --path . --features {feature}` (docs/gpu.md lists what the build needs), or run on the CPU with --device cpu")]
    NotBuilt {
        /// The device asked for.
        device: DeviceChoice,
        /// The Cargo feature that has its kernels.
        feature: &'static str,
    },
    /// The GPU index is past the last GPU.
    #[error("--device {device}: this machine has {count} GPU(s) the driver can see (cuda:0 to cuda:{last}); pick one of them, or run on the CPU with --device cpu", last = count.saturating_sub(1))]
    NoSuchGpu {
        /// The device asked for.
        device: DeviceChoice,
        /// GPUs the driver reports.
        count: usize,
    },
    /// The driver or the GPU is missing or failed.
    #[error("cannot open {device}: {reason}. {hint}, or run on the CPU with --device cpu", hint = device.driver_hint())]
    Unavailable {
        /// The device asked for.
        device: DeviceChoice,
        /// What the driver said.
        reason: String,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    /// `cpu`, `cuda`, `cuda:N`, `metal`, `metal:N` (case-insensitive, surrounding blanks
    /// ignored).
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        let text = s.trim().to_ascii_lowercase();
        let invalid = || DeviceError::Invalid(s.to_string());
        let (kind, index) = match text.split_once(':') {
            Some((kind, n)) => (kind, Some(n.parse::<usize>().map_err(|_| invalid())?)),
            None => (text.as_str(), None),
        };
        match (kind, index) {
            ("cpu", None) => Ok(Self::Cpu),
            ("cuda", n) => Ok(Self::Cuda(n.unwrap_or(0))),
            ("metal", n) => Ok(Self::Metal(n.unwrap_or(0))),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Metal(n) => write!(f, "metal:{n}"),
        }
    }
}

impl DeviceChoice {
    /// The Cargo feature that has this device's kernels (`None` for the CPU, which only needs
    /// the engine).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Cpu => None,
            Self::Cuda(_) => Some("cuda"),
            Self::Metal(_) => Some("metal"),
        }
    }

    /// Whether this binary has the device's kernels; the error names the feature to build
    /// with.
    pub fn built(self) -> Result<(), DeviceError> {
        let built = match self {
            Self::Cpu => true,
            Self::Cuda(_) => cfg!(feature = "cuda"),
            Self::Metal(_) => cfg!(feature = "metal"),
        };
        match (built, self.feature()) {
            (false, Some(feature)) => Err(DeviceError::NotBuilt {
                device: self,
                feature,
            }),
            _ => Ok(()),
        }
    }

    /// What to check when the device cannot be opened.
    fn driver_hint(self) -> &'static str {
        match self {
            Self::Cpu => "This should not happen; please report it",
            Self::Cuda(_) => {
                "Check that the NVIDIA driver is installed and sees the GPU (`nvidia-smi` lists \
                 it), and that CUDA_VISIBLE_DEVICES does not hide it"
            }
            Self::Metal(_) => "Metal needs macOS on a Mac with an Apple GPU",
        }
    }

    /// Opens the device (after `built`). A missing driver, a failed driver or a GPU index
    /// past the last GPU is an error, never a panic.
    #[cfg(feature = "candle")]
    pub fn open(self) -> Result<candle_core::Device, DeviceError> {
        self.built()?;
        let unavailable = |e: candle_core::Error| DeviceError::Unavailable {
            device: self,
            reason: without_backtrace(e),
        };
        match self {
            Self::Cpu => Ok(candle_core::Device::Cpu),
            Self::Cuda(n) => {
                if let Some(count) = cuda_device_count().map_err(unavailable)? {
                    if n >= count {
                        return Err(DeviceError::NoSuchGpu {
                            device: self,
                            count,
                        });
                    }
                }
                candle_core::Device::new_cuda(n).map_err(unavailable)
            }
            Self::Metal(n) => candle_core::Device::new_metal(n).map_err(unavailable),
        }
    }
}

/// The error's own words, without the backtrace candle attaches when RUST_BACKTRACE is set
/// (a message for the user, not a crash report).
#[cfg(feature = "candle")]
fn without_backtrace(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(*inner),
        e => e.to_string(),
    }
}

/// GPUs the CUDA driver reports (`None` in a build without CUDA).
#[cfg(feature = "candle")]
fn cuda_device_count() -> candle_core::Result<Option<usize>> {
    #[cfg(feature = "cuda")]
    {
        use candle_core::cuda_backend::cudarc::driver::CudaContext;
        let count = CudaContext::device_count().map_err(candle_core::Error::wrap)?;
        Ok(Some(count.max(0) as usize))
    }
    #[cfg(not(feature = "cuda"))]
    Ok(None)
}

/// Free memory of `device` in bytes, where the driver says (CUDA); `None` elsewhere.
#[cfg(feature = "candle")]
pub fn free_memory(device: &candle_core::Device) -> Option<u64> {
    #[cfg(feature = "cuda")]
    if let candle_core::Device::Cuda(gpu) = device {
        return gpu
            .cuda_stream()
            .context()
            .mem_get_info()
            .ok()
            .map(|(free, _total)| free as u64);
    }
    let _ = device;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        let cases = [
            ("cpu", DeviceChoice::Cpu),
            (" CPU ", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:0", DeviceChoice::Cuda(0)),
            ("CUDA:3", DeviceChoice::Cuda(3)),
            ("metal", DeviceChoice::Metal(0)),
            ("metal:1", DeviceChoice::Metal(1)),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<DeviceChoice>(), Ok(want), "{text:?}");
        }
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
        assert_eq!(DeviceChoice::default(), DeviceChoice::Cpu);
    }

    #[test]
    fn rejects_what_is_not_a_device() {
        for text in [
            "", "gpu", "cuda:", "cuda:-1", "cuda:x", "cpu:0", "cuda:0:1", "rocm",
        ] {
            let err = text.parse::<DeviceChoice>().unwrap_err();
            assert_eq!(err, DeviceError::Invalid(text.to_string()));
            let msg = err.to_string();
            assert!(msg.contains("cuda:N") && msg.contains("cpu"), "{msg}");
        }
    }

    #[test]
    fn a_device_without_its_feature_names_the_feature() {
        assert_eq!(DeviceChoice::Cpu.built(), Ok(()));
        let cases = [
            (DeviceChoice::Cuda(1), cfg!(feature = "cuda"), "cuda"),
            (DeviceChoice::Metal(0), cfg!(feature = "metal"), "metal"),
        ];
        for (device, built, feature) in cases {
            match device.built() {
                Ok(()) => assert!(built, "{device} has no kernels in this build"),
                Err(e) => {
                    assert!(!built);
                    assert_eq!(e, DeviceError::NotBuilt { device, feature });
                    let msg = e.to_string();
                    assert!(
                        msg.contains(&format!("--features {feature}"))
                            && msg.contains(&format!("--device {device}"))
                            && msg.contains("--device cpu"),
                        "{msg}"
                    );
                }
            }
        }
    }

    #[test]
    fn driver_errors_say_what_to_check() {
        let e = DeviceError::Unavailable {
            device: DeviceChoice::Cuda(0),
            reason: "DriverError(CUDA_ERROR_NO_DEVICE, \"no CUDA-capable device is detected\")"
                .into(),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("cannot open cuda:0: DriverError(CUDA_ERROR_NO_DEVICE"));
        assert!(
            msg.contains("nvidia-smi") && msg.contains("--device cpu"),
            "{msg}"
        );
        let e = DeviceError::NoSuchGpu {
            device: DeviceChoice::Cuda(4),
            count: 2,
        };
        assert_eq!(
            e.to_string(),
            "--device cuda:4: this machine has 2 GPU(s) the driver can see (cuda:0 to cuda:1); \
             pick one of them, or run on the CPU with --device cpu"
        );
    }

    #[cfg(feature = "candle")]
    #[test]
    fn driver_messages_carry_no_backtrace() {
        let inner = candle_core::Error::Msg("DriverError(CUDA_ERROR_NO_DEVICE, \"none\")".into());
        let e = candle_core::Error::WithBacktrace {
            inner: Box::new(inner),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        assert_eq!(
            without_backtrace(e),
            "DriverError(CUDA_ERROR_NO_DEVICE, \"none\")"
        );
    }

    #[cfg(feature = "candle")]
    #[test]
    fn the_cpu_opens_and_a_gpu_without_its_feature_is_refused() {
        assert!(DeviceChoice::Cpu.open().unwrap().is_cpu());
        if !cfg!(feature = "cuda") {
            assert!(matches!(
                DeviceChoice::Cuda(0).open(),
                Err(DeviceError::NotBuilt { .. })
            ));
        }
        assert!(free_memory(&candle_core::Device::Cpu).is_none());
    }
}
