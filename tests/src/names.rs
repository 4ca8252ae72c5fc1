//! Unique names, so tests run in parallel and twice in a row without clashes.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Six base-36 characters identifying this test process.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut n = random_u64();
        (0..6)
            .map(|_| {
                let c = char::from_digit((n % 36) as u32, 36).unwrap_or('x');
                n /= 36;
                c
            })
            .collect()
    })
}

/// A name unique to this process and call: `e2e-<tag>-<run>-<n>`.
pub fn unique(tag: &str) -> String {
    format!(
        "e2e-{tag}-{}-{}",
        run_id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh 64-hex-digit container id, random from its first character on
/// (LSP names use its first 12).
pub fn container_id() -> String {
    (0..4).map(|_| format!("{:016x}", random_u64())).collect()
}
