//! The one wasmtime engine, its linker and the epoch ticker that enforces call deadlines.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::TransformPlugin;
use super::cache::DiskCache;
use super::error::TransformError;
use super::host_impl::HostState;

/// Epoch tick. Deadlines are rounded up to whole ticks, so a 100 ms budget ends 100–102 ms in.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// Concurrent guest calls the pooling allocator has slots for (when enabled).
const POOL_INSTANCES: u32 = 256;

/// Bytes at the start of a linear memory that stay mapped when an instance ends; they are zeroed with
/// a memset instead of `madvise`, so the next fresh sandbox pays neither the syscall with its TLB
/// shootdown nor a page fault per page it touches. Plugins linked with a 128 KiB stack (ours are, see
/// their `build.rs`) keep stack, data and a typical call's heap inside it: a jmespath call drops from
/// ~38 µs to ~14 µs. Plugins with Rust's default 1 MiB stack are not slowed (measured, docs/benchmarks.md).
const KEEP_RESIDENT: usize = 512 * 1024;

/// Decommits (madvise of what lies beyond [`KEEP_RESIDENT`]) are batched over this many ended instances.
const DECOMMIT_BATCH: usize = 8;

/// Engine, linker and ticker shared by every plugin of a runtime.
pub(crate) struct EngineHandle {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) disk_cache: Option<DiskCache>,
    clock: Arc<Clock>,
    ticker: Option<JoinHandle<()>>,
}

/// Guest calls in flight: the epoch only needs to advance while there are some. An idle provider
/// (most of a node's life) then has no thread waking 1000 times a second.
#[derive(Default)]
struct Clock {
    state: Mutex<ClockState>,
    wake: Condvar,
}

#[derive(Default)]
struct ClockState {
    active: usize,
    stop: bool,
    /// Epoch increments so far (observed by tests).
    ticks: u64,
}

/// Keeps the epoch ticking while a guest call runs.
pub(crate) struct Ticking(Arc<Clock>);

impl Drop for Ticking {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        state.active -= 1;
    }
}

impl EngineHandle {
    /// Builds the engine. `cache_dir` enables the on-disk cache of compiled code.
    /// `pooling_max_memory`: use the pooling allocator with slots of that many bytes.
    pub(crate) fn new(
        cache_dir: Option<&Path>,
        pooling_max_memory: Option<usize>,
    ) -> Result<Self, TransformError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        if let Some(max_memory) = pooling_max_memory {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_component_instances(POOL_INSTANCES)
                .total_core_instances(POOL_INSTANCES * 4)
                .total_memories(POOL_INSTANCES * 2)
                .total_tables(POOL_INSTANCES * 4)
                .total_stacks(POOL_INSTANCES)
                .max_memory_size(max_memory)
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT)
                .decommit_batch_size(DECOMMIT_BATCH);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let disk_cache = cache_dir.map(DiskCache::open).transpose()?;
        let engine = Engine::new(&config).map_err(|e| TransformError::Engine(format!("{e:#}")))?;
        let linker = build_linker(&engine)?;
        let clock = Arc::new(Clock::default());
        let ticker = spawn_ticker(engine.clone(), clock.clone())?;
        Ok(Self {
            engine,
            linker,
            disk_cache,
            clock,
            ticker: Some(ticker),
        })
    }

    /// Call before a guest call starts (before its epoch deadline is set); hold until it ends.
    pub(crate) fn ticking(&self) -> Ticking {
        let mut state = self.clock.state.lock().unwrap_or_else(|p| p.into_inner());
        state.active += 1;
        if state.active == 1 {
            self.clock.wake.notify_one();
        }
        Ticking(self.clock.clone())
    }

    /// Epoch ticks that cover `timeout` (at least one full tick more than the budget).
    pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
        let tick = TICK.as_micros().max(1);
        (timeout.as_micros().div_ceil(tick) as u64).saturating_add(1)
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.clock
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stop = true;
        self.clock.wake.notify_one();
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// WASI p2 (the std guest needs part of it; the import allow list decides what a plugin may
/// actually import) plus our `log` import.
fn build_linker(engine: &Engine) -> Result<Linker<HostState>, TransformError> {
    let mut linker = Linker::new(engine);
    let engine_err =
        |e: wasmtime::Error| TransformError::Engine(format!("cannot link host imports: {e:#}"));
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
    TransformPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
        .map_err(engine_err)?;
    Ok(linker)
}

/// A dedicated OS thread, so busy plugins cannot starve the clock. It sleeps while no guest call runs.
fn spawn_ticker(engine: Engine, clock: Arc<Clock>) -> Result<JoinHandle<()>, TransformError> {
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            loop {
                {
                    let mut state = clock.state.lock().unwrap_or_else(|p| p.into_inner());
                    while state.active == 0 && !state.stop {
                        state = clock.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                    }
                    if state.stop {
                        return;
                    }
                }
                std::thread::sleep(TICK);
                engine.increment_epoch();
                clock.state.lock().unwrap_or_else(|p| p.into_inner()).ticks += 1;
            }
        })
        .map_err(|e| TransformError::Engine(format!("cannot start the epoch thread: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_ticks_only_while_a_guest_call_runs() {
        let handle = EngineHandle::new(None, None).unwrap();
        let ticks = || handle.clock.state.lock().unwrap().ticks;
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(ticks(), 0, "idle: no ticks");
        let call = handle.ticking();
        std::thread::sleep(Duration::from_millis(30));
        assert!(ticks() >= 5, "a call in flight: ticking ({})", ticks());
        drop(call);
        std::thread::sleep(Duration::from_millis(5));
        let stopped = ticks();
        std::thread::sleep(Duration::from_millis(30));
        assert!(ticks() <= stopped + 1, "idle again: stopped");
    }

    #[test]
    fn deadline_covers_the_whole_budget() {
        assert_eq!(
            EngineHandle::deadline_ticks(Duration::from_millis(100)),
            101
        );
        assert_eq!(EngineHandle::deadline_ticks(Duration::from_micros(1500)), 3);
    }
}
