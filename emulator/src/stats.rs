//! Call counters so tests can assert how often the provider really hit the "cloud"
//! (caching, retries), per Action and per Action + resource name.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Stats {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    by_action: HashMap<String, usize>,
    by_resource: HashMap<(String, String), usize>,
    by_region: HashMap<(String, String), usize>,
}

impl Stats {
    /// Count one request for `action`, and for `resource` (SecretName / Name as sent) and
    /// `region` (the `RegionId` parameter, sent by OOS calls) if any.
    pub fn record(&self, action: &str, resource: Option<&str>, region: Option<&str>) {
        let mut c = self.inner.lock().expect("stats lock poisoned");
        *c.by_action.entry(action.to_owned()).or_default() += 1;
        if let Some(r) = resource {
            *c.by_resource
                .entry((action.to_owned(), r.to_owned()))
                .or_default() += 1;
        }
        if let Some(r) = region {
            *c.by_region
                .entry((action.to_owned(), r.to_owned()))
                .or_default() += 1;
        }
    }

    pub fn calls_in_region(&self, action: &str, region: &str) -> usize {
        let c = self.inner.lock().expect("stats lock poisoned");
        c.by_region
            .get(&(action.to_owned(), region.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    pub fn calls(&self, action: &str) -> usize {
        let c = self.inner.lock().expect("stats lock poisoned");
        c.by_action.get(action).copied().unwrap_or(0)
    }

    pub fn calls_for(&self, action: &str, resource: &str) -> usize {
        let c = self.inner.lock().expect("stats lock poisoned");
        c.by_resource
            .get(&(action.to_owned(), resource.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    pub fn reset(&self) {
        let mut c = self.inner.lock().expect("stats lock poisoned");
        c.by_action.clear();
        c.by_resource.clear();
        c.by_region.clear();
    }
}
