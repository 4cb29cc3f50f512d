//! In-memory caches shared by the layers above (web pages, store readers,
//! background jobs); nothing here knows about HTTP or SQL.
//!
//! - [`TtlCache`]: values that may be a little old (an estimated total, the
//!   dashboard's counts of a large brand), each for a fixed time.
//! - [`VersionedCache`]: values that must be current, stamped with a version
//!   read from the database (`brands.lists_version`, which triggers bump on
//!   every change): a value is used only for the version it was built for.
//!   The filter lists of the code pages are kept so, by brand; a program's
//!   code matcher can be, by `(brand, program)`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Past this many entries a cache drops the expired ones when it stores.
const MAX_ENTRIES: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A map whose entries expire after `ttl`.
pub struct TtlCache<K, V> {
    ttl: Duration,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value and when it was stored, while it is fresh.
    pub fn get(&self, key: &K) -> Option<(V, Instant)> {
        let map = lock(&self.map);
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(at, v)| (v.clone(), *at))
    }

    pub fn put(&self, key: K, value: V) {
        let mut map = lock(&self.map);
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        map.insert(key, (Instant::now(), value));
    }
}

/// Values built for a key at a version, shared (`Arc`) by every caller of
/// that version. A caller brings the version it read (with its data, in the
/// same transaction or request); a newer version builds the value again and
/// replaces the old one, an older version (a request that read before a
/// change) gets a value of its own that is not kept. Callers of one key and
/// version that miss at the same time wait for one build instead of each
/// building it. Entries also expire after `ttl`, so keys that are no longer
/// asked for (a brand gone quiet) do not hold memory for ever.
pub struct VersionedCache<K, V> {
    ttl: Duration,
    slots: Mutex<HashMap<K, Arc<Slot<V>>>>,
}

/// One key's value at one version; its own lock is held while it is built.
struct Slot<V> {
    version: i64,
    value: Mutex<Option<(Instant, Arc<V>)>>,
}

impl<V> Slot<V> {
    fn new(version: i64) -> Arc<Slot<V>> {
        Arc::new(Slot {
            version,
            value: Mutex::new(None),
        })
    }

    /// Whether it holds nothing fresh (a slot being built counts as fresh).
    fn expired(&self, ttl: Duration) -> bool {
        match self.value.try_lock() {
            Ok(v) => v.as_ref().is_none_or(|(at, _)| at.elapsed() >= ttl),
            Err(_) => false,
        }
    }
}

impl<K: Eq + Hash, V> VersionedCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        VersionedCache {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key` at `version`: the one built for that version while
    /// it is fresh, else what `build` gives (an error is returned and nothing
    /// is kept).
    pub fn get_or_build<E>(
        &self,
        key: K,
        version: i64,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let slot = self.slot(key, version);
        let mut value = lock(&slot.value);
        if let Some((at, v)) = value.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(v.clone());
            }
        }
        let built = Arc::new(build()?);
        *value = Some((Instant::now(), built.clone()));
        Ok(built)
    }

    /// The version kept for `key`, if any (fresh or not).
    pub fn version(&self, key: &K) -> Option<i64> {
        lock(&self.slots).get(key).map(|s| s.version)
    }

    /// The slot to read or build `key` at `version` in.
    fn slot(&self, key: K, version: i64) -> Arc<Slot<V>> {
        let mut slots = lock(&self.slots);
        match slots.get(&key) {
            Some(s) if s.version == version => return s.clone(),
            // A caller behind the kept version: its own value, not kept.
            Some(s) if s.version > version => return Slot::new(version),
            _ => {}
        }
        if slots.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            slots.retain(|_, s| !s.expired(ttl));
        }
        let slot = Slot::new(version);
        slots.insert(key, slot.clone());
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn ttl_entries_expire() {
        let c: TtlCache<u8, u8> = TtlCache::new(Duration::from_millis(20));
        c.put(1, 7);
        assert_eq!(c.get(&1).map(|(v, _)| v), Some(7));
        assert_eq!(c.get(&2), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.get(&1), None);
    }

    fn counted(builds: &AtomicUsize, v: &'static str) -> Result<String, ()> {
        builds.fetch_add(1, Ordering::SeqCst);
        Ok(v.to_string())
    }

    #[test]
    fn a_version_is_built_once_and_shared() {
        let c: VersionedCache<u8, String> = VersionedCache::new(Duration::from_secs(60));
        let builds = AtomicUsize::new(0);
        let a = c.get_or_build(1, 5, || counted(&builds, "five")).unwrap();
        let b = c.get_or_build(1, 5, || counted(&builds, "again")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("five", "five"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        // Another key is its own.
        let other = c.get_or_build(2, 5, || counted(&builds, "two")).unwrap();
        assert_eq!(other.as_str(), "two");
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_new_version_rebuilds_and_an_old_one_does_not_replace_it() {
        let c: VersionedCache<u8, String> = VersionedCache::new(Duration::from_secs(60));
        let builds = AtomicUsize::new(0);
        c.get_or_build(1, 5, || counted(&builds, "five")).unwrap();
        let six = c.get_or_build(1, 6, || counted(&builds, "six")).unwrap();
        assert_eq!(six.as_str(), "six");
        assert_eq!(c.version(&1), Some(6));
        // A request that read version 5 before the change gets a value of
        // version 5, which is not kept.
        let late = c.get_or_build(1, 5, || counted(&builds, "late")).unwrap();
        assert_eq!(late.as_str(), "late");
        assert_eq!(c.version(&1), Some(6));
        let again = c.get_or_build(1, 6, || counted(&builds, "never")).unwrap();
        assert_eq!(again.as_str(), "six");
        assert_eq!(builds.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn errors_are_not_kept_and_values_expire() {
        let c: VersionedCache<u8, String> = VersionedCache::new(Duration::from_millis(20));
        let builds = AtomicUsize::new(0);
        assert_eq!(
            c.get_or_build(1, 1, || Err::<String, _>("down")),
            Err("down")
        );
        let v = c.get_or_build(1, 1, || counted(&builds, "up")).unwrap();
        assert_eq!(v.as_str(), "up");
        std::thread::sleep(Duration::from_millis(30));
        let v = c.get_or_build(1, 1, || counted(&builds, "fresh")).unwrap();
        assert_eq!(v.as_str(), "fresh");
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn concurrent_misses_wait_for_one_build() {
        let c: Arc<VersionedCache<u8, String>> =
            Arc::new(VersionedCache::new(Duration::from_secs(60)));
        let builds = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (c, builds, barrier) = (c.clone(), builds.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    c.get_or_build(1, 1, || {
                        builds.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        Ok::<_, ()>("built".to_string())
                    })
                    .unwrap()
                })
            })
            .collect();
        let values: Vec<Arc<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert!(values.iter().all(|v| Arc::ptr_eq(v, &values[0])));
    }
}
