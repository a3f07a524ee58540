//! The runner of the model tests: generated sequences from a seed that is printed
//! first and can be given back (`<VAR>_SEED`), a number of cases (`<VAR>_CASES`),
//! each sequence run on its own actix system and bounded in time.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Runs `run` on sequences from `strategy`; panics naming the seed on a failure.
pub fn run_seeded<S, F, Fut>(
    name: &str,
    var: &str,
    default_cases: u32,
    within: Duration,
    strategy: S,
    run: F,
) where
    S: Strategy,
    S::Value: Debug,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let seed: u64 = std::env::var(format!("{var}_SEED"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::time::SystemTime::now())
        });
    let cases = std::env::var(format!("{var}_CASES"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    eprintln!("{name}: seed {seed}, {cases} cases (replay with {var}_SEED={seed})");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let outcome = runner.run(&strategy, |sequence| {
        actix_web::rt::System::new()
            .block_on(async {
                // A sequence that hangs is a failure too (a hub that stops answering).
                actix_web::rt::time::timeout(within, run(sequence))
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!("the sequence did not finish within {within:?}"))
                    })
            })
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = outcome {
        panic!("{name} failed ({var}_SEED={seed}): {failure}");
    }
}
