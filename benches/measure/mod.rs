//! What the benches share to measure a run: the process's own CPU time and peak memory
//! (`getrusage(2)`, the operating system's accounting, which other builds on a shared machine
//! do not inflate as they do a wall clock), the processor's name, and their knobs from the
//! environment.

/// This process's resource usage so far (user time, peak memory).
pub fn rusage() -> libc::rusage {
    // SAFETY: getrusage only writes into the struct we hand it; a zeroed `rusage` is valid.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}

/// The processor's model name and the number of processors, as Linux reports them in
/// `/proc/cpuinfo`; "unknown" where that file is not there or says neither.
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_string());
    let processors = info
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    match model {
        Some(model) => format!("{model}, {processors} processor(s)"),
        None => "unknown".to_string(),
    }
}

/// An unsigned number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's user CPU time so far, in seconds.
pub fn user_seconds() -> f64 {
    let usage = rusage();
    usage.ru_utime.tv_sec as f64 + usage.ru_utime.tv_usec as f64 * 1e-6
}
