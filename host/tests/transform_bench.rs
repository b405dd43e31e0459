//! Per-call cost of a transform with the default and the pooling instance allocator.
//! Ignored by default; run in release for numbers worth quoting:
//! `cargo test --release -p csi-provider-alibabacloud --test transform_bench -- --ignored --nocapture`

mod transform_support;

use std::time::Instant;

use provider::transform::{EngineOptions, Limits, PluginDir, RuntimeConfig, TransformRuntime};
use transform_support::*;

async fn per_call_micros(pooling: bool) -> f64 {
    let dir = plugin_dir(&["identity"]);
    let cfg = RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir.path())],
        limits: Limits::default(),
        ..RuntimeConfig::default()
    };
    let rt = TransformRuntime::with_engine_options(
        cfg,
        EngineOptions {
            pooling_allocator: pooling,
        },
    )
    .unwrap();
    let chain = [step("identity", "{}")];
    for _ in 0..200 {
        rt.run_chain(&chain, secret_input()).await.unwrap();
    }
    let n = 3000;
    let started = Instant::now();
    for _ in 0..n {
        rt.run_chain(&chain, secret_input()).await.unwrap();
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run explicitly in release"]
async fn allocator_per_call_cost() {
    for round in 0..2 {
        let default = per_call_micros(false).await;
        let pooling = per_call_micros(true).await;
        println!(
            "round {round}: default allocator {default:.1} µs/call, pooling {pooling:.1} µs/call"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooling_allocator_enforces_the_same_limits() {
    let dir = plugin_dir(&["identity", "memory-bomb"]);
    let cfg = RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir.path())],
        ..RuntimeConfig::default()
    };
    let rt = TransformRuntime::with_engine_options(
        cfg,
        EngineOptions {
            pooling_allocator: true,
        },
    )
    .unwrap();
    assert_eq!(
        rt.run_chain(&[step("identity", "{}")], secret_input())
            .await
            .unwrap(),
        secret_input()
    );
    let err = rt
        .run_chain(&[step("memory-bomb", "{}")], secret_input())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("memory limit of 67108864 bytes exceeded (limit `memory_bytes`)"),
        "{err}"
    );
}
