//! How many threads the engine's matmuls use by default: the physical cores. Two hardware
//! threads of one core share its vector units, so on SMT machines the logical CPU count
//! oversubscribes the kernels and each thread spins at candle's barriers waiting for its twin.
//!
//! candle sizes its pool from `CANDLE_NUM_THREADS`, which it reads from its own threads. The
//! environment is not safe to change while other threads run, so the binary sets it once, in
//! `main`, before the async runtime starts (`set_candle_threads`); the engine never does.

use std::collections::HashSet;

/// Sets `CANDLE_NUM_THREADS` to `threads` (`--threads`), or to the physical cores when the
/// variable is not set already. Call it first thing in `main`, while the process has one
/// thread: changing the environment while other threads may read it is undefined behaviour.
pub fn set_candle_threads(threads: Option<usize>) {
    if std::env::var_os("CANDLE_NUM_THREADS").is_some() && threads.is_none() {
        return;
    }
    let n = threads.unwrap_or_else(physical_cores);
    std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
}

/// Physical cores from `/proc/cpuinfo` (distinct `physical id`/`core id` pairs), else the
/// number of CPUs the process may use.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cores_in_cpuinfo(&text))
        .map_or(logical, |cores| cores.min(logical))
}

/// Distinct (`physical id`, `core id`) pairs in a `/proc/cpuinfo` text; `None` when the file
/// does not say (some virtual machines and architectures omit the fields).
fn cores_in_cpuinfo(text: &str) -> Option<usize> {
    let mut cores = HashSet::new();
    let (mut package, mut core) = (None, None);
    for line in text.lines().chain(std::iter::once("")) {
        let Some((key, value)) = line.split_once(':') else {
            if let (Some(p), Some(c)) = (package.take(), core.take()) {
                cores.insert((p, c));
            }
            continue;
        };
        match key.trim() {
            "physical id" => package = Some(value.trim().to_string()),
            "core id" => core = Some(value.trim().to_string()),
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(package: u32, core: u32) -> String {
        format!(
            "processor\t: 0\nphysical id\t: {package}\ncore id\t\t: {core}\nflags\t\t: avx2\n\n"
        )
    }

    #[test]
    fn hyperthreads_of_one_core_count_once() {
        let text = [cpu(0, 0), cpu(0, 1), cpu(0, 0), cpu(0, 1)].concat();
        assert_eq!(cores_in_cpuinfo(&text), Some(2));
    }

    #[test]
    fn cores_of_two_packages_are_distinct() {
        let text = [cpu(0, 0), cpu(1, 0)].concat();
        assert_eq!(cores_in_cpuinfo(&text), Some(2));
    }

    #[test]
    fn a_file_without_core_ids_says_nothing() {
        assert_eq!(cores_in_cpuinfo("processor\t: 0\nflags\t: avx2\n"), None);
        assert!(physical_cores() >= 1);
    }
}
